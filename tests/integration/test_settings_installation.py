"""Settings › Messenger › Installation: snippet, signing examples that really work, origins."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import select

from promptify.blueprints.installation import snippets as install_snippets
from promptify.extensions import db
from promptify.models import Workspace
from tests.conftest import csrf_token_from, settings_form_fields
from tests.factories import add_key, identify, make_private_key, make_workspace, private_pem

PAGE = "/settings/messenger/installation"
ORIGINS = "/settings/messenger/installation/origins"
HX = {"HX-Request": "true"}
NODE_DIR = Path(__file__).resolve().parents[1] / "node"


@pytest.fixture
def app_id(app):
    return make_workspace(app)


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser would parse the page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_csp_clean(text: str) -> None:
    """No inline script, no inline style, no on* handler: what the console CSP forbids."""
    for tag, attrs in _Tags(text).tags:
        assert tag != "style" and "style" not in attrs, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert not any(name.startswith("hx-on") for name in attrs), (tag, attrs)
        if tag == "script":
            assert attrs.get("src"), "inline <script> on a console page"
        assert tag != "img", "an <img> the page never renders itself"


def code_of(text: str, name: str) -> str:
    """The code an admin sees (and copies) in the block `name`."""
    match = re.search(rf'<code data-example="{name}">(.*?)</code>', text, re.S)
    assert match, f"no {name} example on the page"
    shown = html.unescape(match.group(1))
    copy = re.search(rf'data-copy="([^"]*)" aria-label="[^"]*: {name}"', text)
    assert copy and html.unescape(copy.group(1)) == shown, "the copy button copies what is shown"
    return shown


def _origins(app, app_id: str) -> list[str]:
    with app.app_context():
        workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
        return [o.origin for o in workspace.origins]


# --- access ---------------------------------------------------------------------------------


def test_anonymous_visitors_go_to_the_login_page(client, app_id):
    assert "/login" in client.get(PAGE).headers["Location"]
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(ORIGINS, data={"origins": "https://a.example", "csrf_token": token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _origins(client.application, app_id) == []


def test_agents_get_403_on_every_route_and_method(client, login, csrf, app, app_id):
    login("agent")
    token = csrf()
    assert client.get(PAGE).status_code == 403
    assert client.get(PAGE, headers=HX).status_code == 403
    assert (
        client.post(ORIGINS, data={"origins": "https://a.example", "csrf_token": token}).status_code
        == 403
    )
    assert (
        client.post(
            ORIGINS, data={"origins": "https://a.example"}, headers={**HX, "X-CSRFToken": token}
        ).status_code
        == 403
    )
    assert _origins(app, app_id) == []


def test_origins_post_without_csrf_token_is_refused(client, login, app, app_id):
    login("admin")
    assert client.post(ORIGINS, data={"origins": "https://a.example"}).status_code == 400
    assert (
        client.post(ORIGINS, data={"origins": "https://a.example"}, headers=HX).status_code == 400
    )
    assert _origins(app, app_id) == []


# --- snippet and setUser examples -----------------------------------------------------------


def test_snippet_carries_this_workspaces_app_id(client, login, app_id):
    login("admin")
    response = client.get(PAGE)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in text
    snippet = code_of(text, "snippet")
    assert (
        snippet
        == f'<script src="http://localhost/widget/v1/promptify.js" data-app-id="{app_id}"></script>'
    )
    assert "&lt;script src=" in text  # shown as code, never as a script of the console
    assert code_of(text, "set-user-anonymous") == "promptify.setUser({ id: null });"
    assert 'avatarUrl: "https://example.com/avatar.jpg"' in code_of(text, "set-user-unsigned")
    assert 'promptify.setUser({ jwt: "eyJ..." });' in code_of(text, "set-user-jwt")
    assert_csp_clean(text)


def test_require_signed_identification_is_pointed_out(client, login, app):
    make_workspace(app, require_jwt=True)
    login("admin")
    text = client.get(PAGE).get_data(as_text=True)
    assert "Signed identification is required" in text and "jwt_required" in text


def test_page_shows_the_workspace_chosen_in_the_switcher(client, login, app, app_id, csrf):
    login("admin")
    with app.app_context():
        from promptify import clock as app_clock
        from promptify.services import workspaces

        other = workspaces.create_workspace("Second", [], now=app_clock.now()).app_id
    client.post(
        "/workspace", data={"app_id": other, **settings_form_fields(client, PAGE), "next": PAGE}
    )
    text = client.get(PAGE).get_data(as_text=True)
    assert other in code_of(text, "snippet") and app_id not in code_of(text, "snippet")


# --- signing examples -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_type", "node_alg", "python_alg", "key_class"),
    [
        ("Ed25519", "EdDSA", "Ed25519", "OKPKey"),
        ("P-256", "ES256", "ES256", "ECKey"),
        ("RSA", "RS256", "RS256", "RSAKey"),
    ],
)
def test_examples_follow_the_current_key_type(
    client, login, app, app_id, key_type, node_alg, python_alg, key_class
):
    add_key(app, app_id, make_private_key(key_type))
    login("admin")
    text = client.get(PAGE).get_data(as_text=True)
    node, python = code_of(text, "node"), code_of(text, "python")
    assert f'.setProtectedHeader({{ alg: "{node_alg}" }})' in node
    assert '.setExpirationTime("5m")' in node and ".sign(privateKey);" in node
    assert f'importPKCS8(readFileSync("private.pem", "utf8"), "{node_alg}")' in node
    assert (
        f'jwt.encode({{"alg": "{python_alg}"}}, claims, private_key, algorithms=["{python_alg}"])'
        in python
    )
    assert f"from joserfc.jwk import {key_class}" in python
    assert f'"aud": "{app_id}"' in python and f'aud: "{app_id}"' in node
    assert "jti" in node and "jti" in python
    assert "no signing key yet" not in text and "openssl genpkey" not in text
    assert ("PS256" in text) is (key_type == "RSA")


def test_without_a_key_the_examples_use_eddsa_and_say_how_to_make_one(client, login, app_id):
    login("admin")
    text = client.get(PAGE).get_data(as_text=True)
    assert "no signing key yet" in text
    assert (
        code_of(text, "generate-key-pair")
        .splitlines()[0]
        .startswith("openssl genpkey -algorithm ed25519 -out private.pem")
    )
    assert "openssl pkey -in private.pem -pubout -out public.pem" in code_of(
        text, "generate-key-pair"
    )
    assert 'alg: "EdDSA"' in code_of(text, "node")


def test_a_revoked_current_key_means_no_key(client, login, app, app_id):
    from promptify import clock as app_clock
    from promptify.services import keys as keys_service

    thumbprint = add_key(app, app_id, make_private_key("P-256"))
    with app.app_context():
        workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
        keys_service.revoke_key(workspace, thumbprint, now=app_clock.now())
    login("admin")
    text = client.get(PAGE).get_data(as_text=True)
    assert "no signing key yet" in text and 'alg: "EdDSA"' in code_of(text, "node")


@pytest.mark.parametrize("key_type", ["Ed25519", "P-256", "RSA"])
def test_the_python_example_mints_a_token_the_widget_verifies(
    client, login, app, app_id, key_type, tmp_path, monkeypatch
):
    key = make_private_key(key_type)
    add_key(app, app_id, key)
    login("admin")
    python = code_of(client.get(PAGE).get_data(as_text=True), "python")
    assert python == install_snippets.signing_examples(app_id, key_type).python  # one source
    (tmp_path / "private.pem").write_text(private_pem(key))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(python, "installation-example.py", "exec"), namespace)  # noqa: S102 - our own example
    response = identify(client, app_id, {"jwt": namespace["token"]})
    assert response.status_code == 200, response.json
    assert response.json["contact"]["verified"] is True
    assert (response.json["contact"]["id"], response.json["contact"]["email"]) == (
        "user-123",
        "jane@example.com",
    )


def _node() -> str:
    node = shutil.which("node")
    if node and (NODE_DIR / "node_modules" / "jose").is_dir():
        return node
    if os.environ.get("CI") == "true":
        pytest.fail("the Node example test needs node and `npm ci --prefix tests/node` under CI")
    pytest.skip("tests/node/node_modules missing: run `npm install --prefix tests/node`")


@pytest.mark.parametrize("key_type", ["Ed25519", "P-256", "RSA"])
def test_the_node_example_mints_a_token_the_widget_verifies(
    client, login, app, app_id, key_type, tmp_path
):
    node = _node()
    key = make_private_key(key_type)
    add_key(app, app_id, key)
    login("admin")
    example = code_of(client.get(PAGE).get_data(as_text=True), "node")
    (tmp_path / "private.pem").write_text(private_pem(key))
    (tmp_path / "node_modules").symlink_to(NODE_DIR / "node_modules", target_is_directory=True)
    (tmp_path / "example.mjs").write_text(example + "\nprocess.stdout.write(jwt);\n")
    done = subprocess.run(
        [node, "example.mjs"], cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    response = identify(client, app_id, {"jwt": done.stdout.strip()})
    assert response.status_code == 200, response.json
    assert response.json["contact"]["verified"] is True


# --- allowed origins ------------------------------------------------------------------------


def test_an_empty_list_warns_that_any_origin_may_call(client, login, app_id):
    login("admin")
    text = client.get(PAGE).get_data(as_text=True)
    assert "Any origin may call the widget API." in text


def test_good_lines_are_normalised_and_saved_with_prg(client, login, csrf, app, app_id):
    login("admin")
    lines = "HTTPS://App.Example.com/\n\n  http://localhost:3000  \nhttps://app.example.com:443\nhttp://shop.example:8080"
    response = client.post(ORIGINS, data={"origins": lines, **settings_form_fields(client, PAGE)})
    assert response.status_code == 303 and response.headers["Location"] == PAGE
    assert _origins(app, app_id) == [
        "http://localhost:3000",
        "http://shop.example:8080",
        "https://app.example.com",
    ]
    text = client.get(PAGE).get_data(as_text=True)
    assert "Saved 3 allowed origins." in text
    assert "Any origin may call the widget API." not in text
    textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", text, re.S).group(1)
    assert textarea.split() == [
        "http://localhost:3000",
        "http://shop.example:8080",
        "https://app.example.com",
    ]


def test_saved_origins_are_enforced_by_the_widget_api(client, login, csrf, app, app_id):
    login("admin")
    client.post(
        ORIGINS, data={"origins": "https://app.example.com", **settings_form_fields(client, PAGE)}
    )
    allowed = identify(client, app_id, {"id": None}, Origin="https://app.example.com")
    refused = identify(client, app_id, {"id": None}, Origin="https://evil.example")
    assert allowed.status_code == 200
    assert refused.status_code == 403 and refused.json["error"]["code"] == "origin_not_allowed"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ftp://files.example.com", "is not an origin like https://app.example.com"),
        ("https://app.example.com/path", "must be only scheme, host and port"),
        ("app.example.com", "is not an origin like https://app.example.com"),
        ("https://user:pw@app.example.com", "must be only scheme, host and port"),
        ("https://app.example.com:notaport", "has an invalid port"),
        ("https://app example.com", "has an invalid host name"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_saved(client, login, csrf, app, app_id, line, message):
    login("admin")
    client.post(
        ORIGINS, data={"origins": "https://kept.example", **settings_form_fields(client, PAGE)}
    )
    response = client.post(
        ORIGINS,
        data={"origins": f"https://ok.example\n{line}", **settings_form_fields(client, PAGE)},
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in text
    assert "Line 2: " in text and str(escape(message)) in text and str(escape(repr(line))) in text
    assert "Line 1" not in text
    assert 'aria-invalid="true"' in text
    assert _origins(app, app_id) == ["https://kept.example"]


def test_every_bad_line_is_reported_at_once(client, login, csrf, app_id):
    login("admin")
    response = client.post(
        ORIGINS,
        data={
            "origins": "nope\nhttps://ok.example\n\nalso nope",
            **settings_form_fields(client, PAGE),
        },
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "Line 1: " in text and "Line 4: " in text


def test_emptying_the_list_allows_any_origin_again(client, login, csrf, app, app_id):
    login("admin")
    client.post(
        ORIGINS, data={"origins": "https://app.example.com", **settings_form_fields(client, PAGE)}
    )
    response = client.post(ORIGINS, data={"origins": "  \n", **settings_form_fields(client, PAGE)})
    assert response.status_code == 303 and _origins(app, app_id) == []
    text = client.get(PAGE).get_data(as_text=True)
    assert "Saved: the list is empty, so any origin may call the widget API." in text
    assert "Any origin may call the widget API." in text


def test_htmx_posts_get_the_origins_fragment(client, login, csrf, app, app_id):
    login("admin")
    token = csrf(PAGE)
    ok = client.post(
        ORIGINS,
        data={"origins": "https://App.example.com", "workspace": app_id},
        headers={**HX, "X-CSRFToken": token},
    )
    text = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "<html" not in text and "HX-Request" in ok.headers["Vary"]
    assert text.lstrip().startswith('<section class="card" id="allowed-origins"')
    assert "Saved 1 allowed origin." in text and "<code>https://app.example.com</code>" in text
    bad = client.post(
        ORIGINS, data={"origins": "nope", "workspace": app_id}, headers={**HX, "X-CSRFToken": token}
    )
    assert (
        bad.status_code == 422
        and "<html" not in bad.get_data(as_text=True)
        and "HX-Request" in bad.headers["Vary"]
    )
    assert "Line 1: " in bad.get_data(as_text=True)
    assert _origins(app, app_id) == ["https://app.example.com"]


@pytest.mark.parametrize(
    "line",
    [
        'https://x.example/"><img src=x onerror=alert(1)>',
        "<script>alert(1)</script>",
        'https://"><script>alert(1)</script>.example',
    ],
)
def test_origin_like_markup_is_refused_and_rendered_escaped(client, login, csrf, app, app_id, line):
    login("admin")
    for headers in ({}, {**HX, "X-CSRFToken": csrf(PAGE)}):
        response = client.post(
            ORIGINS, data={"origins": line, **settings_form_fields(client, PAGE)}, headers=headers
        )
        text = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "<script>alert" not in text and "<img" not in text
        assert "&lt;" in text
        assert_csp_clean(text)
    assert _origins(app, app_id) == []


def test_workspace_name_is_escaped(client, login, app, app_id):
    with app.app_context():
        workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
        workspace.name = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
        db.session.commit()
    login("admin")
    text = client.get(PAGE).get_data(as_text=True)
    assert "<script>alert(2)" not in text and "&lt;img src=x" in text
    assert_csp_clean(text)
