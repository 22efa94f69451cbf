"""Read models for Settings › Messenger › Security: what the require-signed switch would break."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from promptify.extensions import db
from promptify.models import Contact, Workspace

RECENT = timedelta(days=7)


def count_recent_unsigned_contacts(workspace: Workspace, now: datetime) -> int:
    """Identified, never-verified contacts seen in the last 7 days.

    These are the users whose next unsigned `setUser` would be refused (`jwt_required`) once the
    workspace requires signed identification. Anonymous visitors are not counted: they are unaffected.
    """
    count = db.session.scalar(
        select(func.count(Contact.id)).where(
            Contact.workspace_id == workspace.id,
            Contact.external_id.is_not(None),
            Contact.verified.is_(False),
            Contact.last_seen_at >= now - RECENT,
        )
    )
    return int(count or 0)
