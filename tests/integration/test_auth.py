"""Console sign-in: Flask-Login, CSRF on every form, rate limit, generic errors, roles, headers."""

from __future__ import annotations

import pytest

from tests.conftest import csrf_token_from
from tests.factories import make_workspace

ADMIN_ROUTES = [
    "/settings/messenger/security",
    "/settings/messenger/installation",
    "/settings/team",
]


@pytest.fixture(autouse=True)
def workspace(app):
    return make_workspace(app)


def test_console_requires_sign_in(client):
    for path in ["/inbox", "/contacts", "/organizations", *ADMIN_ROUTES]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_wrong_password_and_unknown_email_get_the_same_generic_message(client, login, app):
    login("admin", email="real@example.com")
    client.post(
        "/logout", data={"csrf_token": csrf_token_from(client.get("/inbox").get_data(as_text=True))}
    )
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    wrong = client.post(
        "/login", data={"email": "real@example.com", "password": "nope nope", "csrf_token": token}
    )
    unknown = client.post(
        "/login", data={"email": "ghost@example.com", "password": "nope nope", "csrf_token": token}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong email or password." in wrong.get_data(as_text=True)
    assert "Wrong email or password." in unknown.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, login, app):
    login("admin", email="a@example.com")
    client.post(
        "/logout", data={"csrf_token": csrf_token_from(client.get("/inbox").get_data(as_text=True))}
    )
    response = client.post("/login", data={"email": "a@example.com", "password": "a long password"})
    assert response.status_code == 400


def test_sign_in_replaces_the_session_cookie(client, login):
    client.get("/login")
    before = client.get_cookie("session").value
    login("agent")
    assert client.get_cookie("session").value != before
    assert client.get("/inbox").status_code == 200


def test_login_is_rate_limited_per_account_and_address(client, app):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post(
            "/login", data={"email": "x@example.com", "password": "wrong pw!", "csrf_token": token}
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_open_redirect_is_not_followed(client, login, app):
    login("admin", email="r@example.com")
    client.post(
        "/logout", data={"csrf_token": csrf_token_from(client.get("/inbox").get_data(as_text=True))}
    )
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=//evil.test/x",
        data={"email": "r@example.com", "password": "a long password", "csrf_token": token},
    )
    assert response.headers["Location"] == "/inbox"


def test_agents_get_403_on_every_settings_route(client, login):
    login("agent")
    for path in ADMIN_ROUTES:
        assert client.get(path).status_code == 403, path


def test_admins_see_settings(client, login):
    login("admin")
    for path in ADMIN_ROUTES:
        assert client.get(path).status_code == 200, path


def test_logout_needs_csrf_and_ends_the_session(client, login, csrf):
    login("agent")
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": csrf()}).status_code == 303
    assert client.get("/inbox").status_code == 302


def test_deactivated_operator_is_signed_out(client, login, app):
    from sqlalchemy import select

    from promptify.extensions import db
    from promptify.models import Operator

    email = login("agent")
    with app.app_context():
        db.session.scalar(select(Operator).where(Operator.email == email)).active = False
        db.session.commit()
    assert client.get("/inbox").status_code == 302


def test_console_security_headers(client, login):
    login("agent")
    response = client.get("/inbox")
    csp = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "frame-ancestors 'none'" in csp
        and "unsafe-inline" not in csp
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.get_data(as_text=True)
    assert " on" not in response.get_data(as_text=True).replace(
        " one", ""
    )  # no inline on* handlers


@pytest.mark.parametrize("email", ["a\x00b@example.com", "a\nb@example.com", "\x7f@example.com"])
def test_a_sign_in_with_control_characters_in_the_email_is_refused_not_a_500(client, email):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": "a long password", "csrf_token": token}
    )
    assert response.status_code in (400, 401)  # the form's own refusal, never a server error
