"""Settings › Messenger › Security: keys, grace countdown, revoke, require-signed switch,
token tester and failure log, through the console with CSRF on, as admins and agents."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import OKPKey
from markupsafe import escape
from sqlalchemy import func, select

from promptify.blueprints.security import countdown
from promptify.extensions import db
from promptify.identity.keys import KeyRejected, parse_spki_pem
from promptify.models import IdentifyFailure, SigningKey, UsedJti, Workspace
from tests.conftest import settings_form_fields
from tests.factories import (
    identify,
    make_private_key,
    make_workspace,
    private_pem,
    public_pem,
    sign,
    stored_contacts,
)

BASE = "/settings/messenger/security"
HX = {"HX-Request": "true"}
ROUTES = [
    ("GET", BASE),
    ("GET", f"{BASE}/failures"),
    ("POST", f"{BASE}/keys"),
    ("POST", f"{BASE}/keys/revoke"),
    ("POST", f"{BASE}/require-jwt"),
    ("POST", f"{BASE}/token-test"),
]
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'


@pytest.fixture
def app_id(app):
    return make_workspace(app)


@pytest.fixture
def admin(client, login, csrf, app_id):
    """Sign in as an admin; returns a function posting a form with a fresh CSRF token."""
    login("admin")

    def post(path, data=None, *, htmx=False, **kwargs):
        headers = {**(HX if htmx else {}), **kwargs.pop("headers", {})}
        return client.post(
            f"{BASE}{path}",
            data={**settings_form_fields(client, BASE), **(data or {})},
            headers=headers,
            **kwargs,
        )

    return post


def page(client) -> str:
    response = client.get(BASE)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def text_of(html: str) -> str:
    """The page as a person reads it: tags dropped, whitespace collapsed, entities kept."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def key_rows(app, app_id):
    with app.app_context():
        return db.session.scalars(
            select(SigningKey)
            .join(Workspace)
            .where(Workspace.app_id == app_id)
            .order_by(SigningKey.id)
        ).all()


def _exp(clock, seconds=300):
    return int(clock.current.timestamp()) + seconds


# --- access ---------------------------------------------------------------------------------


def test_every_route_requires_sign_in(client):
    token_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', token_page).group(1)
    for method, path in ROUTES:
        response = client.open(
            path, method=method, data={"csrf_token": token} if method == "POST" else None
        )
        assert response.status_code == 302 and "/login" in response.headers["Location"], (
            method,
            path,
        )


def test_agents_get_403_on_every_route(client, login, csrf, app_id):
    login("agent")
    token = csrf("/contacts")
    for method, path in ROUTES:
        data = {
            "csrf_token": token,
            "pem": "x",
            "thumbprint": "x",
            "confirm": "y",
            "token": "x",
            "require_jwt": "y",
        }
        response = client.open(path, method=method, data=data if method == "POST" else None)
        assert response.status_code == 403, (method, path)
        response = client.open(
            path, method=method, data=data if method == "POST" else None, headers=HX
        )
        assert response.status_code == 403, (method, path)
    with client.application.app_context():
        assert db.session.scalar(select(func.count(SigningKey.id))) == 0
        assert db.session.scalar(select(Workspace.require_jwt)) is False


def test_posts_without_csrf_token_are_refused(client, login, app_id, app):
    login("admin")
    for method, path in ROUTES:
        if method == "POST":
            data = {
                "pem": public_pem(make_private_key("Ed25519")),
                "require_jwt": "y",
                "token": "x",
            }
            assert client.post(path, data=data).status_code == 400, path
            assert client.post(path, data=data, headers=HX).status_code == 400, path
    assert key_rows(app, app_id) == []


def test_page_is_csp_clean_and_loads_its_stylesheet(client, admin):
    html = page(client)
    assert "/static/css/security.css" in html
    assert not re.search(r"<script(?![^>]*\ssrc=)", html), "inline script"
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"<[^>]+\sstyle\s*=", html) and "<style" not in html, "inline style"
    assert "hx-on" not in html


# --- adding keys: refusals --------------------------------------------------------------------


def _certificate_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme.test")])
    now = __import__("datetime").datetime.now(__import__("datetime").UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(ser.Encoding.PEM).decode()


def _spki(public_key) -> str:
    return public_key.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo).decode()


REFUSALS = {
    "private key": (lambda: private_pem(make_private_key("Ed25519")), "Never paste a private key"),
    "certificate": (_certificate_pem, "Certificates aren't accepted"),
    "PKCS#1": (
        lambda: (
            make_private_key("RSA")
            .public_key()
            .public_bytes(ser.Encoding.PEM, ser.PublicFormat.PKCS1)
            .decode()
        ),
        "PKCS#1 RSA PUBLIC KEY",
    ),
    "OpenSSH": (
        lambda: (
            make_private_key("RSA")
            .public_key()
            .public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH)
            .decode()
        ),
        "OpenSSH public keys aren't accepted",
    ),
    "JWK": (
        lambda: json.dumps(
            OKPKey.import_key(public_pem(make_private_key("Ed25519"))).as_dict(private=False)
        ),
        "JWK/JSON keys aren't accepted",
    ),
    "P-384": (
        lambda: _spki(ec.generate_private_key(ec.SECP384R1()).public_key()),
        "this key uses P-384",
    ),
    "Ed448": (
        lambda: _spki(ed448.Ed448PrivateKey.generate().public_key()),
        "Unsupported key type (Ed448)",
    ),
    "RSA 1024": (
        lambda: _spki(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()),
        "this one is 1024 bits",
    ),
    "garbage": (lambda: "hello, this is not a key", "No PEM block found"),
    "two blocks": (
        lambda: public_pem(make_private_key("Ed25519")) + public_pem(make_private_key("P-256")),
        "this text contains several",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
def test_each_refusal_message_appears_next_to_the_field(client, admin, app, app_id, case):
    make, phrase = REFUSALS[case]
    pasted = make()
    with pytest.raises(KeyRejected) as refused:
        parse_spki_pem(pasted)
    message = refused.value.message
    assert phrase in message

    full = admin("/keys", {"pem": pasted})  # no JavaScript: the whole page, 422
    html = full.get_data(as_text=True)
    assert full.status_code == 422 and "<html" in html
    assert str(escape(message)) in html
    assert 'id="pem-error"' in html and 'aria-invalid="true"' in html

    fragment = admin("/keys", {"pem": pasted}, htmx=True)  # htmx: the form fragment, 422
    html = fragment.get_data(as_text=True)
    assert (
        fragment.status_code == 422
        and "<html" not in html
        and html.lstrip().startswith('<form id="key-form"')
    )
    assert "HX-Request" in fragment.headers["Vary"]
    assert str(escape(message)) in html
    assert key_rows(app, app_id) == []


def test_a_pasted_private_key_is_never_stored_echoed_or_logged(client, admin, app, app_id, caplog):
    private = private_pem(make_private_key("Ed25519"))
    body = "".join(private.strip().splitlines()[1:-1])
    caplog.set_level("DEBUG")
    for htmx in (False, True):
        response = admin("/keys", {"pem": private}, htmx=htmx)
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Never paste a private key" in html
        assert "the previous one keeps working for 2 h" in html
        assert body not in html and "PRIVATE KEY-----" not in html
        textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S).group(1)
        assert textarea.strip() == ""
    assert key_rows(app, app_id) == []
    assert body not in caplog.text
    assert body not in page(client)


def test_an_empty_paste_is_refused_with_a_hint(client, admin):
    response = admin("/keys", {"pem": ""}, htmx=True)
    assert response.status_code == 422
    assert "Paste a -----BEGIN PUBLIC KEY----- block." in response.get_data(as_text=True)


# --- adding and rotating keys -----------------------------------------------------------------


def test_add_ed25519_then_rotate_to_p256_shows_the_grace_countdown(
    client, admin, app, app_id, clock
):
    ed, p256 = make_private_key("Ed25519"), make_private_key("P-256")

    first = admin("/keys", {"pem": public_pem(ed)})  # plain form: Post/Redirect/Get
    assert first.status_code == 303 and first.headers["Location"].endswith(f"{BASE}#keys")
    html = page(client)
    assert "is now current" in html  # the flash
    ed_row = key_rows(app, app_id)[0]
    assert (ed_row.key_type, ed_row.retired_at) == ("Ed25519", None)
    assert f'data-copy="{ed_row.thumbprint}"' in html and "EdDSA, Ed25519" in html
    assert "Current" in html and "No current key" not in html

    rotated_at = clock.current
    rotate = admin("/keys", {"pem": public_pem(p256)}, htmx=True)
    html = rotate.get_data(as_text=True)
    assert (
        rotate.status_code == 200 and "<html" not in html and "HX-Request" in rotate.headers["Vary"]
    )
    assert html.lstrip().startswith(
        '<form id="key-form"'
    )  # the cleared form, then out-of-band regions
    assert (
        re.search(r'<div id="key-list"[^>]* hx-swap-oob="true">', html)
        and 'id="require-jwt"' in html
    )
    deadline = rotated_at + timedelta(hours=2)
    assert (
        f"The previous key keeps working until {countdown.clock_time(deadline, clock.current)}"
        in html
    )
    assert "P-256" in html and "ES256" in html

    clock.advance(minutes=48)
    text = text_of(page(client))
    until = countdown.clock_time(deadline, clock.current)
    assert f"Retiring valid until {until} , 1 h 12 min left" in text
    rows = {r.key_type: r for r in key_rows(app, app_id)}
    assert rows["P-256"].retired_at is None and rows["Ed25519"].retired_at == rotated_at

    clock.advance(hours=1, minutes=12)
    assert "Expired" in page(client)


def test_re_adding_the_current_key_changes_nothing(client, admin, app, app_id):
    key = make_private_key("Ed25519")
    admin("/keys", {"pem": public_pem(key)})
    response = admin("/keys", {"pem": public_pem(key)}, htmx=True)
    assert "already the current key" in response.get_data(as_text=True)
    assert len(key_rows(app, app_id)) == 1


# --- revoking -------------------------------------------------------------------------------


def test_revoke_requires_the_confirmation_box(client, admin, app, app_id):
    admin("/keys", {"pem": public_pem(make_private_key("Ed25519"))})
    thumbprint = key_rows(app, app_id)[0].thumbprint
    html = page(client)
    assert 'data-confirm="Revoke this Ed25519 key now?' in html and "Revoke now" in html

    for htmx in (False, True):
        refused = admin("/keys/revoke", {"thumbprint": thumbprint}, htmx=htmx)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422
        assert ("<html" in html) is not htmx
        assert "Tick the box to confirm" in html and '<details class="revoke" open>' in html
    assert key_rows(app, app_id)[0].revoked_at is None

    done = admin("/keys/revoke", {"thumbprint": thumbprint, "confirm": "y"})
    assert done.status_code == 303
    html = page(client)
    assert "Revoked" in html and "is revoked" in html
    assert "No current key." in html
    assert key_rows(app, app_id)[0].revoked_at is not None


def test_revoke_with_htmx_returns_the_key_list(client, admin, app, app_id, clock):
    old, new = make_private_key("Ed25519"), make_private_key("P-256")
    admin("/keys", {"pem": public_pem(old)})
    admin("/keys", {"pem": public_pem(new)})
    old_thumbprint = key_rows(app, app_id)[0].thumbprint
    response = admin("/keys/revoke", {"thumbprint": old_thumbprint, "confirm": "y"}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<div id="key-list"') and "is revoked" in html
    assert (
        'hx-swap-oob="true"' not in html.split('id="require-jwt"')[0]
    )  # the list is the target itself
    assert "No current key" not in html  # the P-256 key is still current
    assert admin("/keys/revoke", {"thumbprint": "nope", "confirm": "y"}).status_code == 404


def test_warning_when_the_current_key_is_revoked_but_a_retiring_one_remains(
    client, admin, app, app_id
):
    admin("/keys", {"pem": public_pem(make_private_key("Ed25519"))})
    admin("/keys", {"pem": public_pem(make_private_key("P-256"))})
    current = next(k for k in key_rows(app, app_id) if k.retired_at is None)
    admin("/keys/revoke", {"thumbprint": current.thumbprint, "confirm": "y"})
    text = text_of(page(client))
    assert "No current key. Tokens are still accepted from the retiring key until" in text


# --- require signed identification ------------------------------------------------------------


def test_require_jwt_shows_the_7_day_count_and_toggles(client, admin, app, app_id, clock):
    key = make_private_key("Ed25519")
    admin("/keys", {"pem": public_pem(key)})
    assert identify(client, app_id, {"id": "old"}).status_code == 200
    clock.advance(days=8)
    for user in ("u1", "u2"):
        assert identify(client, app_id, {"id": user}).status_code == 200
    assert identify(client, app_id, {"id": None}).status_code == 200  # anonymous: not counted
    signed = sign(key, {"id": "signed", "exp": _exp(clock)})
    assert identify(client, app_id, {"jwt": signed}).status_code == 200  # verified: not counted

    text = text_of(page(client))
    assert "2 users identified without a signature in the last 7 days would be refused." in text
    assert "no usable signing key" not in text.lower()

    on = admin("/require-jwt", {"require_jwt": "y"}, htmx=True)
    html = on.get_data(as_text=True)
    assert on.status_code == 200 and "<html" not in html and "HX-Request" in on.headers["Vary"]
    assert html.lstrip().startswith('<section id="require-jwt"')
    assert "Signed identification is now required" in html and ">On<" in html and "Turn off" in html
    assert "2 users identified without a signature in the last 7 days are now refused" in text_of(
        html
    )
    refused = identify(client, app_id, {"id": "u1"})
    assert refused.status_code != 200 and refused.json["error"]["code"] == "jwt_required"

    off = admin("/require-jwt", {})  # plain form, checkbox absent = off
    assert off.status_code == 303 and off.headers["Location"].endswith("#require-jwt")
    html = page(client)
    assert "no longer required" in html and ">Off<" in html
    with app.app_context():
        assert db.session.scalar(select(Workspace.require_jwt)) is False
    assert identify(client, app_id, {"id": "u1"}).status_code == 200


def test_one_user_reads_in_the_singular_and_zero_in_words(client, admin, app_id):
    assert "No user was identified without a signature in the last 7 days" in page(client)
    identify(client, app_id, {"id": "solo"})
    assert "1 user identified without a signature in the last 7 days would be refused." in text_of(
        page(client)
    )


def test_turning_it_on_without_a_usable_key_is_warned(client, admin, app, app_id):
    html = page(client)
    assert "There is no usable signing key." in html
    assert 'data-confirm="There is no usable signing key' in html
    admin("/require-jwt", {"require_jwt": "y"})
    text = text_of(page(client))
    assert "No usable signing key: every identified user is being refused." in text


def test_count_service_counts_only_recent_unsigned_identified_contacts(app, client, app_id, clock):
    from promptify.services.security_overview import count_recent_unsigned_contacts

    other = make_workspace(app)
    identify(client, app_id, {"id": "a"})
    identify(client, other, {"id": "b"})
    with app.app_context():
        workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
        assert count_recent_unsigned_contacts(workspace, clock.current) == 1
        assert (
            count_recent_unsigned_contacts(workspace, clock.current + timedelta(days=7, seconds=1))
            == 0
        )


# --- token tester -----------------------------------------------------------------------------


@pytest.fixture
def ed(admin, app, app_id):
    key = make_private_key("Ed25519")
    admin("/keys", {"pem": public_pem(key)})
    return key


def _failure_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(IdentifyFailure.id)))


def test_tester_accepts_a_good_token_without_consuming_its_jti(
    client, admin, app, app_id, ed, clock
):
    token = sign(ed, {"id": "u1", "exp": _exp(clock), "jti": "one-time"})
    for htmx in (True, False):
        response = admin("/token-test", {"token": token}, htmx=htmx)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert ("<html" in html) is not htmx
        assert "This token would be accepted." in html and "Fail<" not in html
        assert "jti status" in html and "testing does not consume it" in html
    assert stored_contacts(app) == []
    assert _failure_count(app) == 0
    with app.app_context():
        assert db.session.scalars(select(UsedJti)).all() == []
    assert identify(client, app_id, {"jwt": token}).status_code == 200  # the jti still works


@pytest.mark.parametrize(
    ("case", "code"),
    [("expired", "jwt_expired"), ("replayed", "jwt_replayed"), ("wrong key", "jwt_bad_signature")],
)
def test_tester_reports_the_failing_step(client, admin, app, app_id, ed, clock, case, code):
    if case == "expired":
        token = sign(ed, {"id": "u1", "exp": _exp(clock, -120)})
    elif case == "replayed":
        token = sign(ed, {"id": "u1", "exp": _exp(clock), "jti": "used-once"})
        assert identify(client, app_id, {"jwt": token}).status_code == 200
    else:
        token = sign(make_private_key("Ed25519"), {"id": "u1", "exp": _exp(clock)})
    before = (stored_contacts(app), _failure_count(app))
    response = admin("/token-test", {"token": token}, htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This token would be refused" in html and f"<code>{code}</code>" in html
    assert "Fail<" in html
    if case != "replayed":
        assert "Not checked" in html
    assert (stored_contacts(app), _failure_count(app)) == before


def test_tester_refuses_an_empty_paste_with_422(client, admin, ed):
    response = admin("/token-test", {"token": ""}, htmx=True)
    assert response.status_code == 422 and "Paste a token." in response.get_data(as_text=True)
    response = admin("/token-test", {"token": "not.a.jwt"}, htmx=True)
    assert response.status_code == 200 and "This token would be refused" in response.get_data(
        as_text=True
    )


# --- failure log ------------------------------------------------------------------------------


def test_failure_log_is_newest_first_and_paged(client, admin, app, app_id, clock):
    for n in range(25):
        clock.advance(seconds=1)
        response = identify(
            client, app_id, {"jwt": f"garbage{n}"}, Origin=f"https://site-{n}.example"
        )
        assert response.status_code != 200
    html = page(client)
    shown = [int(n) for n in re.findall(r"https://site-(\d+)\.example", html)]
    assert shown == list(range(24, 4, -1))  # 20 per page, newest first
    older = re.search(r'href="([^"]*/failures\?before=(\d+))#failures"', html)
    assert older, "no Older link"

    fragment = client.get(older.group(1), headers=HX)
    body = fragment.get_data(as_text=True)
    assert (
        fragment.status_code == 200
        and "<html" not in body
        and "HX-Request" in fragment.headers["Vary"]
    )
    assert body.lstrip().startswith('<section id="failures"')
    assert [int(n) for n in re.findall(r"https://site-(\d+)\.example", body)] == [4, 3, 2, 1, 0]
    assert "/failures?before=" not in body and "Newest" in body

    full = client.get(older.group(1))
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)
    assert "HX-Request" in full.headers["Vary"]
    assert "https://site-4.example" in full.get_data(as_text=True)
    assert "No older failures." in client.get(f"{BASE}/failures?before=1").get_data(as_text=True)
    assert client.get(f"{BASE}/failures?before=99999999999999999999").status_code == 200


def test_failure_log_escapes_everything(client, admin, app, clock):
    guarded = make_workspace(app, origins=["https://shop.example"])
    evil_origin = f"https://evil.example/{XSS_ATTR}{XSS_SCRIPT}"
    assert identify(client, guarded, {"id": "u1"}, Origin=evil_origin).status_code == 403
    claims = {"id": XSS_SCRIPT, "name": XSS_ATTR, "exp": _exp(clock)}
    token = sign(make_private_key("Ed25519"), claims, kid=XSS_SCRIPT)  # no key at all: refused
    response = identify(client, guarded, {"jwt": token}, Origin="https://shop.example")
    assert response.status_code != 200
    client.post(
        "/workspace",
        data={
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page(client)).group(1),
            "app_id": guarded,
            "next": BASE,
        },
    )
    html = page(client)
    assert "https://evil.example/" in html  # the failures of this workspace are shown
    assert XSS_SCRIPT not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    with app.app_context():
        failure = db.session.scalars(
            select(IdentifyFailure).where(IdentifyFailure.code != "origin_not_allowed")
        ).one()
        assert failure.token_claims["id"] == XSS_SCRIPT
        assert failure.token_header["kid"] == XSS_SCRIPT
    signature = token.rsplit(".", 1)[1]
    assert signature not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # origin, claims and header kid


# --- origins --------------------------------------------------------------------------------


def test_empty_origin_list_is_stated_with_a_link_to_installation(client, admin, app):
    html = page(client)
    assert "Any website can call the widget API." in html
    assert 'href="/settings/messenger/installation"' in html
    guarded = make_workspace(app, origins=["https://shop.example"])
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post("/workspace", data={"csrf_token": token, "app_id": guarded, "next": BASE})
    assert "Any website can call the widget API." not in page(client)
