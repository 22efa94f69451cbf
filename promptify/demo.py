"""`promptify demo`: a ready workspace, an admin and a signing key pair, with copy-paste commands."""

from __future__ import annotations

import json
import secrets
import shlex
from collections.abc import Callable
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from promptify import clock
from promptify.models import Workspace
from promptify.extensions import db
from promptify.services import workspaces

DEMO_WORKSPACE = "Demo workspace"
DEMO_ADMIN = "admin@demo.promptify.test"


def demo_workspace() -> Workspace:
    existing = db.session.scalar(
        select(Workspace).where(Workspace.name == DEMO_WORKSPACE).order_by(Workspace.id)
    )
    return existing or workspaces.create_workspace(DEMO_WORKSPACE, [], now=clock.now())


def prepare_demo(base_url: str, *, echo: Callable[[str], None]) -> None:
    from promptify.cli import create_or_update_operator

    workspace = demo_workspace()
    password = secrets.token_urlsafe(12)
    create_or_update_operator(DEMO_ADMIN, "admin", password)
    body = json.dumps({"id": "user-123", "email": "jane@example.com", "name": "Jane Doe",
                       "attrs": {"plan": "pro", "active": True},
                       "organizations": [{"id": "org-456", "name": "Acme Corp", "attrs": {"industry": "SaaS"}}]})
    url = f"{base_url}/widget/v1/apps/{workspace.app_id}/identify"
    echo(f"Demo workspace app id: {workspace.app_id}")
    echo(f"Console: {base_url}/login  (email {DEMO_ADMIN}, password {password})")
    echo("Identify a user (unsigned):")
    echo(f"  curl -s -X POST {url} -H 'Content-Type: application/json' -d {shlex.quote(body)}")
    _ = Path(current_app.instance_path)
