"""Widget sessions: opaque 256-bit tokens of which only the SHA-256 is stored (§1)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from promptify.extensions import db
from promptify.models import Contact, WidgetSession

SESSION_HEADER = "X-Promptify-Session"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def find_session(
    workspace_id: int, token: str | None, *, now: datetime, idle: timedelta
) -> tuple[WidgetSession, Contact] | None:
    """The live session of this workspace for `token`, with its contact (one round trip);
    sessions of other workspaces are ignored, expired ones deleted."""
    if not token or len(token) > 128:
        return None
    row = db.session.execute(
        select(WidgetSession, Contact)
        .join(Contact, Contact.id == WidgetSession.contact_id)
        .where(WidgetSession.token_hash == token_hash(token))
    ).first()
    if row is None or row[0].workspace_id != workspace_id:
        return None
    session, contact = row
    if session.last_used_at + idle < now:
        db.session.delete(session)
        return None
    return session, contact


def issue_session(workspace_id: int, contact_id: int, *, verified: bool, now: datetime) -> str:
    """Create a session for the contact and return its token (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        WidgetSession(
            token_hash=token_hash(token),
            workspace_id=workspace_id,
            contact_id=contact_id,
            verified=verified,
            created_at=now,
            last_used_at=now,
        )
    )
    return token


def end_session(session: WidgetSession) -> None:
    db.session.delete(session)
