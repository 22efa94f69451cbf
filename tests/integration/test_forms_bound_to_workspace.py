"""Settings forms act on the workspace they were rendered for, or not at all: with two tabs, a
form left open on workspace A is refused once another tab switched the console to B."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from promptify.extensions import db
from promptify.models import AllowedOrigin, SigningKey, Workspace
from tests.conftest import csrf_token_from, settings_form_fields
from tests.factories import add_key, make_private_key, make_workspace, public_pem

SECURITY = "/settings/messenger/security"
INSTALLATION = "/settings/messenger/installation"
HX = {"HX-Request": "true"}


def _state(app) -> dict[str, tuple]:
    """Everything these forms can change, per workspace."""
    with app.app_context():
        result = {}
        for workspace in db.session.scalars(select(Workspace)):
            keys = db.session.scalar(
                select(func.count()).where(
                    SigningKey.workspace_id == workspace.id, SigningKey.revoked_at.is_(None)
                )
            )
            origins = db.session.scalar(
                select(func.count()).where(AllowedOrigin.workspace_id == workspace.id)
            )
            result[workspace.app_id] = (keys, origins, workspace.require_jwt)
        return result


def _switch(client, app_id: str) -> None:
    token = csrf_token_from(client.get("/inbox").get_data(as_text=True))
    response = client.post("/workspace", data={"csrf_token": token, "app_id": app_id})
    assert response.status_code == 303


@pytest.fixture
def two_workspaces(app, client, login):
    login("admin")
    first = make_workspace(app)  # the oldest: current by default
    second = make_workspace(app)
    thumbprint = add_key(app, first, make_private_key("Ed25519"))
    return first, second, thumbprint


def _forms(thumbprint: str) -> list[tuple[str, str, dict[str, str]]]:
    return [
        (SECURITY, "/keys", {"pem": public_pem(make_private_key("Ed25519"))}),
        (SECURITY, "/keys/revoke", {"thumbprint": thumbprint, "confirm": "y"}),
        (SECURITY, "/require-jwt", {"require_jwt": "y"}),
        (INSTALLATION, "/origins", {"origins": "https://tab.example"}),
    ]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("form", range(4), ids=["add-key", "revoke", "require-jwt", "origins"])
def test_a_form_rendered_for_another_workspace_changes_nothing(
    app, client, two_workspaces, form, htmx
):
    first, second, thumbprint = two_workspaces
    page, action, fields = _forms(thumbprint)[form]
    rendered = settings_form_fields(client, page)  # tab 1: the page of workspace Alpha
    assert rendered["workspace"] == first
    _switch(client, second)  # tab 2 switches the console to Beta
    before = _state(app)
    response = client.post(
        f"{page}{action}", data={**rendered, **fields}, headers=HX if htmx else {}
    )
    assert _state(app) == before
    if htmx:
        assert response.status_code == 204 and response.headers["HX-Redirect"] == page
    else:
        assert response.status_code == 303 and response.headers["Location"].endswith(page)
    shown = client.get(page).get_data(as_text=True)
    assert "Nothing was changed: this form was opened for another workspace" in shown


def test_a_form_without_its_workspace_is_refused_too(app, client, two_workspaces):
    token = csrf_token_from(client.get(SECURITY).get_data(as_text=True))
    before = _state(app)
    response = client.post(
        f"{SECURITY}/require-jwt", data={"csrf_token": token, "require_jwt": "y"}
    )
    assert response.status_code == 303 and _state(app) == before


def test_the_same_form_works_for_the_workspace_it_was_rendered_for(app, client, two_workspaces):
    first, second, _ = two_workspaces
    _switch(client, second)
    rendered = settings_form_fields(client, SECURITY)
    assert rendered["workspace"] == second
    response = client.post(f"{SECURITY}/require-jwt", data={**rendered, "require_jwt": "y"})
    assert response.status_code == 303
    state = _state(app)
    assert state[second][2] is True and state[first][2] is False
