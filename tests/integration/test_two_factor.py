"""Two-factor sign-in (docs/security.md, "Two-factor sign-in"): setting it up with a code computed
from the page's secret, signing in with a code (each accepted once) or a recovery code (each
usable once), the installation-wide requirement, rate limits, and turning it off. On every
backend; CSRF on; codes computed with pyotp at the controllable clock."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import (
    AuditAction,
    AuditEvent,
    ConsoleSession,
    Operator,
    RecoveryCode,
    TwoFactorMethod,
)
from promptify.services import operators, two_factor
from tests.conftest import csrf_token_from
from tests.factories import make_workspace
from tests.integration.test_settings_installation import _Tags

PASSWORD = "a long password"
STEP = timedelta(seconds=30)


@pytest.fixture(autouse=True)
def workspace(app):
    return make_workspace(app)


# --- helpers ------------------------------------------------------------------------------------


def _make(app, email: str, role: str = "agent") -> str:
    with app.app_context():
        operators.create_operator(email, role.capitalize(), role, PASSWORD, now=app_clock.now())
    return email


def _password_step(browser: FlaskClient, email: str, password: str = PASSWORD, **data: str):
    token = csrf_token_from(browser.get("/login").get_data(as_text=True))
    return browser.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, **data}
    )


def _code_step(browser: FlaskClient, code: str):
    page = browser.get("/login/two-factor")
    assert page.status_code == 200, page.headers.get("Location")
    token = csrf_token_from(page.get_data(as_text=True))
    return browser.post("/login/two-factor", data={"code": code, "csrf_token": token})


def _post(browser: FlaskClient, path: str, **data: str):
    page = browser.get("/profile/two-factor").get_data(as_text=True)
    return browser.post(path, data={**data, "csrf_token": csrf_token_from(page)})


def _secret_on_page(html: str) -> str:
    match = re.search(r'id="two-factor-secret"[^>]*>([A-Z2-7 ]+)</code>', html)
    assert match, "no secret on the page"
    return match.group(1).replace(" ", "")


def _code(secret: str, clock, offset: int = 0) -> str:  # type: ignore[no-untyped-def]
    return pyotp.TOTP(secret).at(clock() + offset * STEP)


def _codes_on_page(html: str) -> list[str]:
    return re.findall(r"<li><code>([0-9a-z-]+)</code></li>", html)


def _enrol(browser: FlaskClient, clock) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """Set two-factor sign-in up as an operator does: the secret read from the page, the code
    computed from it. Returns the secret and the recovery codes shown."""
    assert _post(browser, "/profile/two-factor/start").status_code == 303
    secret = _secret_on_page(browser.get("/profile/two-factor").get_data(as_text=True))
    confirmed = _post(browser, "/profile/two-factor/confirm", code=_code(secret, clock))
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    codes = _codes_on_page(confirmed.get_data(as_text=True))
    return secret, codes


def _signed_in(browser: FlaskClient) -> bool:
    response = browser.get("/inbox")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    return False


def _operator(app, email: str) -> Operator:
    with app.app_context():
        operator = db.session.scalar(select(Operator).where(Operator.email == email))
        db.session.expunge(operator)
        return operator


def _live_sessions(app, email: str) -> list[ConsoleSession]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(ConsoleSession)
                .join(Operator, Operator.id == ConsoleSession.operator_id)
                .where(Operator.email == email, ConsoleSession.ended_at.is_(None))
                .order_by(ConsoleSession.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def _enrolled(app, clock, email: str = "kim@example.com") -> tuple[str, str, list[str]]:  # type: ignore[no-untyped-def]
    """An operator with two-factor sign-in on, signed out; their email, secret, recovery codes."""
    _make(app, email)
    browser = app.test_client()
    assert _password_step(browser, email).status_code == 303
    secret, codes = _enrol(browser, clock)
    assert _sign_out(browser).status_code == 303
    clock.advance(seconds=30)  # the code used to confirm is spent; the next one is not
    return email, secret, codes


# --- setting it up ------------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_the_secret_and_needs_a_code(client, app, login, clock):
    email = login("agent")
    other = app.test_client()
    assert _password_step(other, email).status_code == 303  # another browser, signed in

    page = client.get("/profile/two-factor").get_data(as_text=True)
    assert "Set up two-factor sign-in" in page and "two-factor-secret" not in page
    assert _post(client, "/profile/two-factor/start").status_code == 303
    page = client.get("/profile/two-factor").get_data(as_text=True)
    secret = _secret_on_page(page)
    assert len(secret) == 32  # 160 bits
    assert _operator(app, email).totp_secret is None  # not on until confirmed

    # the QR code: an SVG image in a data: URL, naming the account and the secret
    qr = re.search(r'<img class="two-factor-qr" src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert qr is not None
    svg = base64.b64decode(qr.group(1)).decode("utf-8")
    assert svg.startswith("<svg") and "<script" not in svg
    uri = two_factor.provisioning_uri(_operator(app, email), secret)
    assert uri.startswith("otpauth://totp/Promptify:") and f"secret={secret}" in uri
    for tag, attrs in _Tags(page).tags:  # nothing the console's CSP forbids
        assert tag != "style" and "style" not in attrs
        assert not any(name.startswith("on") for name in attrs)
        if tag == "script":
            assert attrs.get("src")
    # starting again shows the same secret (the app may have it already)
    assert _post(client, "/profile/two-factor/start").status_code == 303
    assert _secret_on_page(client.get("/profile/two-factor").get_data(as_text=True)) == secret

    wrong = _post(client, "/profile/two-factor/confirm", code="000000")
    if _code(secret, clock) == "000000":  # one chance in a million
        return
    assert wrong.status_code == 422 and "not the current code" in wrong.get_data(as_text=True)
    assert _operator(app, email).totp_secret is None

    done = _post(client, "/profile/two-factor/confirm", code=_code(secret, clock))
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "Two-factor sign-in is on" in html
    codes = _codes_on_page(html)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9a-z]{4}(-[0-9a-z]{4}){3}", code) for code in codes)
    stored = _operator(app, email)
    assert stored.totp_secret == secret and stored.totp_pending_secret is None
    with app.app_context():
        hashes = db.session.scalars(
            select(RecoveryCode.code_hash).where(RecoveryCode.operator_id == stored.id)
        ).all()
    assert len(hashes) == 10 and not set(codes) & set(hashes)  # only hashes are kept
    # this session continues (as having passed the second factor); the other browser is out
    assert _signed_in(client) and not _signed_in(other)
    (live,) = _live_sessions(app, email)
    assert live.two_factor == TwoFactorMethod.ENROLMENT
    # the codes are shown once: the page never shows them (nor the secret) again
    page = client.get("/profile/two-factor").get_data(as_text=True)
    assert not any(code in page for code in codes) and secret not in page
    assert "10</strong> of 10 recovery codes left" in page


# --- signing in ---------------------------------------------------------------------------------


def test_sign_in_needs_the_code_after_the_password(app, clock):
    email, secret, _ = _enrolled(app, clock)
    browser = app.test_client()
    response = _password_step(browser, email, remember="y")
    assert response.status_code == 303 and response.headers["Location"] == "/login/two-factor"
    assert not _signed_in(browser)  # the password alone opens nothing
    assert _live_sessions(app, email) == []  # and starts no console session
    assert "authenticator app" in browser.get("/login/two-factor").get_data(as_text=True)

    done = _code_step(browser, _code(secret, clock))
    assert done.status_code == 303 and done.headers["Location"] == "/inbox"
    assert _signed_in(browser)
    (live,) = _live_sessions(app, email)
    assert live.two_factor == TwoFactorMethod.TOTP and live.remember  # "Keep me signed in" kept


def test_the_second_step_keeps_next(app, clock):
    email, secret, _ = _enrolled(app, clock)
    browser = app.test_client()
    token = csrf_token_from(browser.get("/login").get_data(as_text=True))
    browser.post(
        "/login?next=/contacts", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert _code_step(browser, _code(secret, clock)).headers["Location"] == "/contacts"


def test_a_wrong_or_reused_code_is_refused(app, clock):
    email, secret, _ = _enrolled(app, clock)
    browser = app.test_client()
    assert _password_step(browser, email).status_code == 303
    current = _code(secret, clock)
    wrong = next(c for c in ("123456", "654321") if c != current)
    refused = _code_step(browser, wrong)
    assert refused.status_code == 401
    assert "That code is wrong, expired or was used already." in refused.get_data(as_text=True)
    assert _code_step(browser, _code(secret, clock, offset=-3)).status_code == 401  # too old
    assert _code_step(browser, current).status_code == 303
    assert _signed_in(browser)

    thief = app.test_client()  # the same code seen over the shoulder, a moment later
    assert _password_step(thief, email).status_code == 303
    assert _code_step(thief, current).status_code == 401
    assert _code_step(thief, _code(secret, clock, offset=-1)).status_code == 401  # older too
    clock.advance(seconds=30)
    assert _code_step(thief, _code(secret, clock)).status_code == 303  # the next step's code


def test_a_code_of_the_next_step_is_accepted_for_a_phone_a_little_ahead(app, clock):
    email, secret, _ = _enrolled(app, clock)
    browser = app.test_client()
    assert _password_step(browser, email).status_code == 303
    assert _code_step(browser, _code(secret, clock, offset=1)).status_code == 303
    other = app.test_client()
    assert _password_step(other, email).status_code == 303
    assert _code_step(other, _code(secret, clock)).status_code == 401  # before the one used


def test_a_recovery_code_works_once(app, clock):
    email, _, codes = _enrolled(app, clock)
    browser = app.test_client()
    assert _password_step(browser, email).status_code == 303
    done = _code_step(browser, " " + codes[3].upper().replace("-", " ") + " ")  # as typed
    assert done.status_code == 303
    page = browser.get("/inbox").get_data(as_text=True)
    assert "You signed in with a recovery code" in page and "9 of them are left" in page
    assert _live_sessions(app, email)[0].two_factor == TwoFactorMethod.RECOVERY_CODE

    again = app.test_client()
    assert _password_step(again, email).status_code == 303
    assert _code_step(again, codes[3]).status_code == 401
    assert _code_step(again, codes[4]).status_code == 303


def test_the_second_step_expires_and_needs_the_password_first(app, clock):
    email, secret, _ = _enrolled(app, clock)
    stranger = app.test_client()
    response = stranger.get("/login/two-factor")
    assert response.status_code == 303 and response.headers["Location"] == "/login"

    browser = app.test_client()
    assert _password_step(browser, email).status_code == 303
    clock.advance(minutes=5, seconds=1)
    late = browser.get("/login/two-factor")
    assert late.status_code == 303 and late.headers["Location"] == "/login"
    assert "Sign in again" in browser.get("/login").get_data(as_text=True)


def test_a_deactivated_operator_cannot_finish_the_second_step(app, clock):
    email, secret, _ = _enrolled(app, clock)
    _make(app, "boss@example.com", "admin")
    browser = app.test_client()
    assert _password_step(browser, email).status_code == 303
    with app.app_context():
        operator = operators.find_by_email(email)
        assert operator is not None
        operators.deactivate(operator, now=clock())
    assert browser.get("/login/two-factor").status_code == 303
    assert not _signed_in(browser)


def test_the_second_step_is_rate_limited(app, clock):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    email, secret, _ = _enrolled(app, clock)
    current = _code(secret, clock)
    wrong = next(c for c in ("111111", "222222") if c != current)
    browser = app.test_client()
    assert _password_step(browser, email).status_code == 303
    statuses = [_code_step(browser, wrong).status_code for _ in range(3)]
    statuses.append(_code_step(browser, current).status_code)  # even the right code now
    assert statuses == [401, 401, 401, 429]


def test_sign_ins_with_two_factor_are_recorded(app, clock):
    email, secret, _ = _enrolled(app, clock)
    browser = app.test_client()
    assert _password_step(browser, email).status_code == 303
    wrong = "999999" if _code(secret, clock) != "999999" else "888888"
    assert _code_step(browser, wrong).status_code == 401
    assert _code_step(browser, _code(secret, clock)).status_code == 303
    with app.app_context():
        events = list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.actor == email).order_by(AuditEvent.id)
            )
        )
    # the enrolling sign-in, then the refused code and the sign-in with the right one
    assert [(e.action, e.details) for e in events[-2:]] == [
        (AuditAction.SIGN_IN_FAILED, {"second_factor": "refused"}),
        (AuditAction.SIGN_IN_SUCCEEDED, {"second_factor": "totp"}),
    ]
    assert all(e.address == "127.0.0.1" for e in events)


# --- required for everyone ----------------------------------------------------------------------


def _require(admin: FlaskClient, on: bool):  # type: ignore[no-untyped-def]
    token = csrf_token_from(admin.get("/settings/team").get_data(as_text=True))
    data = {"csrf_token": token, **({"require_two_factor": "y"} if on else {})}
    return admin.post("/settings/team/two-factor", data=data)


def test_required_for_everyone_sends_an_operator_without_it_to_enrolment(client, app, login, clock):
    login("admin")
    _enrol(client, clock)
    team = client.get("/settings/team").get_data(as_text=True)
    assert 'id="require_two_factor" name="require_two_factor" value="y"> Require' in team
    signed_in_agent = app.test_client()
    agent = _make(app, "agent@example.com")
    assert _password_step(signed_in_agent, agent).status_code == 303

    switched = _require(client, True)
    assert switched.status_code == 303
    team = client.get("/settings/team").get_data(as_text=True)
    assert "Two-factor sign-in is required" in team
    assert 'id="require_two_factor" name="require_two_factor" value="y" checked' in team
    assert "1 active operator has not set it up" in team

    # a signed-in operator without it is sent to enrolment at their next request
    gated = signed_in_agent.get("/inbox")
    assert gated.status_code == 303 and gated.headers["Location"] == "/profile/two-factor"
    assert signed_in_agent.get("/contacts").headers["Location"] == "/profile/two-factor"
    polled = signed_in_agent.get("/inbox/attention", headers={"Accept": "application/json"})
    assert polled.status_code == 401 and polled.json == {"error": two_factor_set_up_first()}
    htmx = signed_in_agent.get("/inbox", headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx.headers["HX-Redirect"] == "/profile/two-factor"

    # one signing in is sent there right after the password
    fresh = app.test_client()
    response = _password_step(fresh, agent)
    assert response.status_code == 303 and response.headers["Location"] == "/profile/two-factor"
    page = fresh.get("/profile/two-factor").get_data(as_text=True)
    assert "An admin requires two-factor sign-in for everyone." in page
    assert fresh.get("/inbox").headers["Location"] == "/profile/two-factor"
    _enrol(fresh, clock)
    assert _signed_in(fresh)  # enrolled: the console opens
    assert not _signed_in(signed_in_agent)  # (enrolling ended the other session)
    assert "Every active operator has set it up." in client.get("/settings/team").get_data(
        as_text=True
    )


def test_an_admin_without_it_who_requires_it_is_sent_to_set_it_up_too(client, app, login, clock):
    login("admin")
    team = client.get("/settings/team").get_data(as_text=True)
    assert "You have not set it up yourself" in team
    assert _require(client, True).status_code == 303
    assert client.get("/settings/team").headers["Location"] == "/profile/two-factor"
    _enrol(client, clock)
    assert client.get("/settings/team").status_code == 200


def two_factor_set_up_first() -> str:
    return "An admin requires two-factor sign-in: set it up to continue."


def test_switching_the_requirement_off(client, app, login, clock):
    login("admin")
    _enrol(client, clock)
    assert _require(client, True).status_code == 303
    agent = _make(app, "agent@example.com")
    browser = app.test_client()
    assert _password_step(browser, agent).headers["Location"] == "/profile/two-factor"
    assert _require(client, False).status_code == 303
    assert "no longer required" in client.get("/settings/team").get_data(as_text=True)
    assert _signed_in(browser)


def test_only_admins_switch_the_requirement_and_with_csrf(client, app, login):
    login("agent")
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    assert (
        client.post(
            "/settings/team/two-factor", data={"require_two_factor": "y", "csrf_token": token}
        ).status_code
        == 403
    )
    admin = app.test_client()
    _make(app, "boss@example.com", "admin")
    assert _password_step(admin, "boss@example.com").status_code == 303
    assert (
        admin.post("/settings/team/two-factor", data={"require_two_factor": "y"}).status_code == 400
    )
    with app.app_context():
        assert not two_factor.is_required()


def test_the_team_list_marks_who_uses_two_factor(client, app, login, clock):
    admin = login("admin")
    _enrol(client, clock)
    plain = _make(app, "plain@example.com")
    html = client.get("/settings/team").get_data(as_text=True)

    def row(email: str) -> str:
        found = re.search(rf'<tr id="operator-{_operator(app, email).id}".*?</tr>', html, re.S)
        assert found is not None
        return found.group(0)

    assert 'class="badge badge-two-factor"' in row(admin)
    assert "badge-two-factor" not in row(plain)


# --- turning it off, new recovery codes ---------------------------------------------------------


@pytest.mark.parametrize("with_what", ["password", "code"])
def test_turning_it_off_needs_a_current_code_or_the_password(client, app, login, clock, with_what):
    email = login("agent")
    secret, codes = _enrol(client, clock)
    clock.advance(seconds=30)
    refused = _post(
        client, "/profile/two-factor/disable", **{"disable-credential": "not it at all"}
    )
    assert refused.status_code == 422
    assert "neither a current code" in refused.get_data(as_text=True)
    assert _operator(app, email).totp_secret == secret
    credential = PASSWORD if with_what == "password" else _code(secret, clock)
    done = _post(client, "/profile/two-factor/disable", **{"disable-credential": credential})
    assert done.status_code == 303
    assert "Two-factor sign-in is off" in client.get("/profile/two-factor").get_data(as_text=True)
    assert _operator(app, email).totp_secret is None
    with app.app_context():
        assert db.session.scalars(select(RecoveryCode)).all() == []
    browser = app.test_client()  # the password alone signs in again
    assert _password_step(browser, email).headers["Location"] == "/inbox"


def test_a_used_code_does_not_turn_it_off(client, app, login, clock):
    email = login("agent")
    secret, _ = _enrol(client, clock)  # the code of this step was used to confirm
    refused = _post(
        client, "/profile/two-factor/disable", **{"disable-credential": _code(secret, clock)}
    )
    assert refused.status_code == 422 and _operator(app, email).totp_secret == secret


def test_new_recovery_codes_replace_the_old_ones(client, app, login, clock):
    email = login("agent")
    secret, old = _enrol(client, clock)
    made = _post(client, "/profile/two-factor/recovery-codes", **{"codes-credential": PASSWORD})
    assert made.status_code == 200
    new = _codes_on_page(made.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert _sign_out(client).status_code == 303
    browser = app.test_client()
    assert _password_step(browser, email).status_code == 303
    assert _code_step(browser, old[0]).status_code == 401
    assert _code_step(browser, new[0]).status_code == 303


def _sign_out(browser: FlaskClient):
    token = csrf_token_from(browser.get("/inbox").get_data(as_text=True))
    return browser.post("/logout", data={"csrf_token": token})


def test_wrong_codes_on_the_profile_are_rate_limited(client, app, login, clock):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    login("agent")
    assert _post(client, "/profile/two-factor/start").status_code == 303
    secret = _secret_on_page(client.get("/profile/two-factor").get_data(as_text=True))
    wrong = next(c for c in ("111111", "222222") if c != _code(secret, clock))
    statuses = [
        _post(client, "/profile/two-factor/confirm", code=wrong).status_code for _ in range(4)
    ]
    assert statuses == [422, 422, 422, 429]


def test_the_profile_page_shows_the_state(client, app, login, clock):
    login("agent")
    assert "Set up two-factor sign-in" in client.get("/profile").get_data(as_text=True)
    _enrol(client, clock)
    html = client.get("/profile").get_data(as_text=True)
    assert "Manage two-factor sign-in" in html and ">On</span>" in html


def test_the_service_refuses_confirming_without_setting_up(app, login, clock):
    email = login("agent")
    with app.app_context():
        operator = operators.find_by_email(email)
        assert operator is not None
        with pytest.raises(two_factor.TwoFactorRejected, match="Start setting up"):
            two_factor.confirm_enrolment(operator, "123456", now=clock(), session_id=None)
        assert two_factor.verify_sign_in(operator, "123456", now=clock()) is None
