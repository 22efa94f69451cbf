"""Builders for test data: plain functions, keys generated per test (no PEM files committed)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import Contact, Workspace
from promptify.services import workspaces


def make_workspace(app: Flask, *, origins: list[str] | None = None, require_jwt: bool = False) -> str:
    """Create a workspace and return its app id."""
    with app.app_context():
        workspace = workspaces.create_workspace("Acme support", origins or [], now=app_clock.now())
        if require_jwt:
            workspaces.set_require_jwt(workspace, True)
        return workspace.app_id


def identify(
    client: FlaskClient, app_id: str, body: Any, *, session: str | None = None, **headers: str
) -> Any:
    all_headers = dict(headers)
    if session is not None:
        all_headers["X-Promptify-Session"] = session
    return client.post(f"/widget/v1/apps/{app_id}/identify", json=body, headers=all_headers)


def stored_contacts(app: Flask) -> list[dict[str, Any]]:
    """Every contact as plain data, for "nothing was written" comparisons."""
    from promptify.services.contacts import contact_json

    with app.app_context():
        contacts = db.session.scalars(select(Contact).order_by(Contact.id)).all()
        return [
            {**contact_json(c), "pk": c.id, "last_seen_at": c.last_seen_at, "first_seen_at": c.first_seen_at}
            for c in contacts
        ]


def workspace_id(app: Flask, app_id: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Workspace.id).where(Workspace.app_id == app_id))
