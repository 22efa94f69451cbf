"""Settings › Team: list, create, change role, deactivate; the last active admin always stays."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from promptify.extensions import db
from promptify.models import Operator
from tests.conftest import csrf_token_from
from tests.factories import make_workspace
from tests.integration.test_settings_installation import assert_csp_clean

PAGE = "/settings/team"
HX = {"HX-Request": "true"}
PASSWORD = "a long password"


@pytest.fixture(autouse=True)
def workspace(app):
    return make_workspace(app)


def _operator(app, email: str) -> Operator:
    with app.app_context():
        operator = db.session.scalar(select(Operator).where(Operator.email == email))
        assert operator is not None, email
        db.session.expunge(operator)
        return operator


def _id(app, email: str) -> int:
    return _operator(app, email).id


def _create(client, token: str, *, htmx: bool = False, **fields: str):
    data = {
        "email": "new@example.com",
        "name": "New Person",
        "role": "agent",
        "password": "sekret-pass",
        **fields,
    }
    if htmx:
        return client.post(PAGE, data=data, headers={**HX, "X-CSRFToken": token})
    return client.post(PAGE, data={**data, "csrf_token": token})


def _post(client, path: str, token: str, *, htmx: bool = False, **data: str):
    if htmx:
        return client.post(path, data=data, headers={**HX, "X-CSRFToken": token})
    return client.post(path, data={**data, "csrf_token": token})


def _can_sign_in(app, email: str, password: str) -> bool:
    other = app.test_client()
    token = csrf_token_from(other.get("/login").get_data(as_text=True))
    response = other.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    return response.status_code == 303


# --- access ---------------------------------------------------------------------------------


def _routes(app, target: int) -> list[tuple[str, dict[str, str]]]:
    return [
        (PAGE, {"email": "x@example.com", "name": "X", "role": "admin", "password": "sekret-pass"}),
        (f"{PAGE}/{target}/role", {"role": "admin"}),
        (f"{PAGE}/{target}/deactivate", {}),
    ]


def test_anonymous_visitors_go_to_the_login_page(client, app):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert "/login" in client.get(PAGE).headers["Location"]
    for path, data in _routes(app, 1):
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_agents_get_403_on_every_route_and_method(client, login, csrf, app):
    agent = login("agent")
    target = _id(app, agent)
    token = csrf()
    assert client.get(PAGE).status_code == 403
    for path, data in _routes(app, target):
        assert _post(client, path, token, **data).status_code == 403, path
        assert _post(client, path, token, htmx=True, **data).status_code == 403, path
    me = _operator(app, agent)
    assert (me.role, me.active) == ("agent", True)
    with app.app_context():
        assert db.session.scalar(select(Operator).where(Operator.email == "x@example.com")) is None


def test_posts_without_csrf_token_are_refused(client, login, app):
    admin = login("admin")
    agent_email = "agent@example.com"
    login_token = csrf_token_from(client.get(PAGE).get_data(as_text=True))
    _create(client, login_token, email=agent_email)
    target = _id(app, agent_email)
    for path, data in _routes(app, target):
        assert client.post(path, data=data).status_code == 400, path
        assert client.post(path, data=data, headers=HX).status_code == 400, path
    assert (_operator(app, agent_email).role, _operator(app, agent_email).active) == ("agent", True)
    assert _operator(app, admin).active


def test_unknown_operator_is_404(client, login, csrf):
    login("admin")
    token = csrf(PAGE)
    assert _post(client, f"{PAGE}/999999/role", token, role="agent").status_code == 404
    assert _post(client, f"{PAGE}/999999/deactivate", token).status_code == 404


# --- list -----------------------------------------------------------------------------------


def test_the_list_shows_every_operator(client, login, app):
    admin = login("admin", email="boss@example.com")
    response = client.get(PAGE)
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in text
    assert admin in text
    assert 'id="operator-list"' in text and 'id="operator-form"' in text
    row = re.search(r'<tr id="operator-\d+".*?</tr>', text, re.S).group(0)
    assert "boss@example.com" in row and "Active" in row and "<time datetime=" in row
    assert re.search(r'<option value="admin" selected>Admin</option>', row)
    assert_csp_clean(text)


# --- create ---------------------------------------------------------------------------------


def test_create_an_agent_with_prg_and_they_can_sign_in(client, login, csrf, app):
    login("admin")
    response = _create(client, csrf(PAGE), email="Jane@Example.com", name="Jane Doe")
    assert response.status_code == 303 and response.headers["Location"] == PAGE
    jane = _operator(app, "jane@example.com")
    assert (jane.name, jane.role, jane.active) == ("Jane Doe", "agent", True)
    text = client.get(PAGE).get_data(as_text=True)
    assert "Added jane@example.com as agent." in text and "Jane Doe" in text
    assert _can_sign_in(app, "jane@example.com", "sekret-pass")


def test_create_over_htmx_returns_a_fresh_form_and_the_list_out_of_band(client, login, csrf, app):
    login("admin")
    response = _create(client, csrf(PAGE), htmx=True, email="ann@example.com", role="admin")
    text = response.get_data(as_text=True)
    assert (
        response.status_code == 200
        and "<html" not in text
        and "HX-Request" in response.headers["Vary"]
    )
    assert text.lstrip().startswith('<section class="card" id="operator-form"')
    assert "Added ann@example.com as admin." in text
    assert (
        'id="operator-list" aria-labelledby="operators-title" hx-target="this" hx-swap="outerHTML" hx-swap-oob="true"'
        in text
    )
    assert "ann@example.com" in text.split('id="operator-list"')[1]
    assert 'value="ann@example.com"' not in text  # the form is empty again
    assert _operator(app, "ann@example.com").role == "admin"


@pytest.mark.parametrize("htmx", [False, True])
def test_duplicate_email_is_an_error_on_the_field(client, login, csrf, app, htmx):
    admin = login("admin")
    response = _create(client, csrf(PAGE), htmx=htmx, email=admin.upper(), name="Copy")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("<html" in text) is not htmx
    assert re.search(r'id="email"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="email"', text)
    assert 'id="email-error" role="alert">An operator with this email already exists.' in text
    with app.app_context():
        assert len(db.session.scalars(select(Operator)).all()) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"role": "owner"}, "role"),
        ({"email": ""}, "email"),
    ],
)
def test_invalid_create_fields(client, login, csrf, app, fields, field):
    login("admin")
    response = _create(client, csrf(PAGE), htmx=True, **fields)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(Operator)).all()) == 1


def test_operator_name_is_rendered_escaped(client, login, csrf, app):
    login("admin")
    evil = '"><img src=x onerror=alert(1)><script>alert(1)</script>'
    for htmx in (True, False):
        email = f"evil{int(htmx)}@example.com"
        response = _create(client, csrf(PAGE), htmx=htmx, email=email, name=evil)
        assert response.status_code in (200, 303)
        assert _operator(app, email).name == evil
    for text in (client.get(PAGE).get_data(as_text=True), response.get_data(as_text=True)):
        assert "<script>alert" not in text and "<img" not in text
        assert_csp_clean(text)
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;" in client.get(PAGE).get_data(
        as_text=True
    )


# --- roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_change_a_role(client, login, csrf, app, htmx):
    login("admin")
    token = csrf(PAGE)
    _create(client, token, email="sam@example.com")
    response = _post(
        client, f"{PAGE}/{_id(app, 'sam@example.com')}/role", token, htmx=htmx, role="admin"
    )
    assert _operator(app, "sam@example.com").role == "admin"
    if htmx:
        text = response.get_data(as_text=True)
        assert (
            response.status_code == 200
            and "<html" not in text
            and "HX-Request" in response.headers["Vary"]
        )
        assert text.lstrip().startswith('<section class="card" id="operator-list"')
        assert "sam@example.com is now admin." in text
    else:
        assert response.status_code == 303 and response.headers["Location"] == PAGE
        assert "sam@example.com is now admin." in client.get(PAGE).get_data(as_text=True)


def test_an_unknown_role_is_refused(client, login, csrf, app):
    login("admin")
    token = csrf(PAGE)
    _create(client, token, email="sam@example.com")
    response = _post(
        client, f"{PAGE}/{_id(app, 'sam@example.com')}/role", token, htmx=True, role="owner"
    )
    assert response.status_code == 422 and "Choose a role" in response.get_data(as_text=True)
    assert _operator(app, "sam@example.com").role == "agent"


@pytest.mark.parametrize("htmx", [False, True])
def test_the_last_admin_cannot_stop_being_admin(client, login, csrf, app, htmx):
    admin = login("admin")
    response = _post(client, f"{PAGE}/{_id(app, admin)}/role", csrf(PAGE), htmx=htmx, role="agent")
    assert _operator(app, admin).role == "admin"
    if htmx:
        assert response.status_code == 422 and "<html" not in response.get_data(as_text=True)
        assert "The last admin cannot stop being an admin." in response.get_data(as_text=True)
    else:
        assert response.status_code == 303
        assert "The last admin cannot stop being an admin." in client.get(PAGE).get_data(
            as_text=True
        )


def test_an_admin_who_demotes_themselves_leaves_the_settings(client, login, csrf, app):
    admin = login("admin")
    token = csrf(PAGE)
    _create(client, token, email="other-admin@example.com", role="admin")
    response = _post(client, f"{PAGE}/{_id(app, admin)}/role", token, htmx=True, role="agent")
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/inbox"
    assert _operator(app, admin).role == "agent"
    assert client.get(PAGE).status_code == 403


# --- deactivation ---------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_deactivated_operators_can_no_longer_sign_in(client, login, csrf, app, htmx):
    login("admin")
    token = csrf(PAGE)
    _create(client, token, email="leaver@example.com", password="leaver-pass")
    assert _can_sign_in(app, "leaver@example.com", "leaver-pass")
    signed_in = app.test_client()
    login_token = csrf_token_from(signed_in.get("/login").get_data(as_text=True))
    signed_in.post(
        "/login",
        data={"email": "leaver@example.com", "password": "leaver-pass", "csrf_token": login_token},
    )
    response = _post(
        client, f"{PAGE}/{_id(app, 'leaver@example.com')}/deactivate", token, htmx=htmx
    )
    assert response.status_code == (200 if htmx else 303)
    assert _operator(app, "leaver@example.com").active is False
    assert not _can_sign_in(app, "leaver@example.com", "leaver-pass")
    assert signed_in.get("/settings/team").status_code == 302  # the open session ends too
    text = client.get(PAGE).get_data(as_text=True) if not htmx else response.get_data(as_text=True)
    row = re.search(r'<tr id="operator-\d+" class="inactive">.*?</tr>', text, re.S).group(0)
    assert "leaver@example.com" in row and "Deactivated" in row and "<form" not in row


def test_deactivate_buttons_ask_for_confirmation(client, login, csrf):
    login("admin", email="me@example.com")
    _create(client, csrf(PAGE), email="other@example.com")
    text = client.get(PAGE).get_data(as_text=True)
    assert (
        'data-confirm="Deactivate other@example.com? They are signed out and can no longer sign in."'
        in text
    )
    assert 'data-confirm="Deactivate your own account? You will be signed out at once."' in text


@pytest.mark.parametrize("htmx", [False, True])
def test_the_last_admin_cannot_deactivate_themselves(client, login, csrf, app, htmx):
    admin = login("admin")
    token = csrf(PAGE)
    _create(client, token, email="helper@example.com")  # an agent does not count
    response = _post(client, f"{PAGE}/{_id(app, admin)}/deactivate", token, htmx=htmx)
    assert _operator(app, admin).active is True
    if htmx:
        assert response.status_code == 422
        text = response.get_data(as_text=True)
    else:
        assert response.status_code == 303
        text = client.get(PAGE).get_data(as_text=True)
    assert "The last admin cannot be deactivated." in text
    assert client.get(PAGE).status_code == 200


def test_the_last_active_admin_is_protected_from_other_admins_too(client, login, csrf, app):
    admin = login("admin")
    token = csrf(PAGE)
    _create(client, token, email="second@example.com", role="admin")
    second = _id(app, "second@example.com")
    assert _post(client, f"{PAGE}/{second}/deactivate", token, htmx=True).status_code == 200
    # `admin` is now the only active admin: a deactivated admin does not count
    response = _post(client, f"{PAGE}/{_id(app, admin)}/deactivate", token, htmx=True)
    assert (
        response.status_code == 422
        and "The last admin cannot be deactivated." in response.get_data(as_text=True)
    )


def test_an_admin_may_deactivate_themselves_when_another_admin_remains(client, login, csrf, app):
    admin = login("admin")
    token = csrf(PAGE)
    _create(client, token, email="successor@example.com", role="admin")
    response = _post(client, f"{PAGE}/{_id(app, admin)}/deactivate", token)
    assert response.status_code == 303 and response.headers["Location"] == "/inbox"
    assert _operator(app, admin).active is False
    assert "/login" in client.get(PAGE).headers["Location"]
    assert _can_sign_in(app, "successor@example.com", "sekret-pass")


@pytest.mark.parametrize(
    "path", ["/settings/messenger/security", "/settings/messenger/installation", "/settings/team"]
)
def test_the_navigation_marks_settings_on_every_settings_page(client, login, path):
    login("admin")
    html = client.get(path).get_data(as_text=True)
    assert re.search(
        r'<a href="/settings/messenger/security" aria-current="page">Settings</a>', html
    ), path
    assert 'aria-current="page">Inbox<' not in html
