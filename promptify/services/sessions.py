"""Widget sessions: opaque 256-bit tokens of which only the SHA-256 is stored, and their
trust lifecycle (docs/security.md, "Trust lifecycle"): proof that lapses, cascades that end them."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, bindparam, select, update

from promptify.extensions import db
from promptify.identity import trust
from promptify.models import Contact, SigningKey, WidgetSession, Workspace
from promptify.services.policy import Policy

SESSION_HEADER = "X-Promptify-Session"
MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class FoundSession:
    session: WidgetSession
    contact: Contact
    live: bool  # False: lapsed or ended; conversation calls answer `session_expired`


@dataclass(frozen=True)
class Verification:
    """The proof behind a verified session: which key, when, and until when it holds."""

    key_thumbprint: str
    at: datetime
    until: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# Built once: every widget call runs it, and building the statement costs more than running it.
_FIND = (
    select(WidgetSession, Contact, SigningKey.retired_at, SigningKey.revoked_at)
    .join(Contact, Contact.id == WidgetSession.contact_id)
    .outerjoin(
        SigningKey,
        and_(
            SigningKey.workspace_id == WidgetSession.workspace_id,
            SigningKey.thumbprint == WidgetSession.verified_key,
        ),
    )
    .where(WidgetSession.token_hash == bindparam("token_hash"))
)
_FIND_LOCKED = _FIND.with_for_update(of=Contact).execution_options(populate_existing=True)


def find_session(
    workspace: Workspace,
    token: str | None,
    *,
    now: datetime,
    policy: Policy,
    lock: bool = False,
) -> FoundSession | None:
    """The session of this workspace for `token`, with its contact and whether it is live (one
    round trip; the key that verified it is read in the same statement, so a revoked key ends
    the session at once on every process). Unknown tokens, other workspaces' sessions and
    sessions idle too long are None.

    `lock` re-reads the rows inside a write transaction and locks the contact (PostgreSQL
    `FOR UPDATE`), so a merge of this contact and a message posted on this session serialize.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    query = _FIND_LOCKED if lock else _FIND
    row = db.session.execute(query, {"token_hash": token_hash(token)}).first()
    if row is None or row[0].workspace_id != workspace.id:
        return None
    session, contact, key_retired_at, key_revoked_at = row
    if session.last_used_at + policy.session_idle < now:
        return None  # idle too long; `promptify purge` removes the row
    facts = trust.SessionFacts(
        ended_at=session.ended_at,
        verified_until=session.verified_until,
        key_revoked_at=key_revoked_at,
        key_retired_at=key_retired_at,
        contact_anonymous=contact.anonymous,
        contact_verified=contact.verified,
        require_jwt=workspace.require_jwt,
    )
    return FoundSession(session, contact, trust.is_live(facts, now=now, grace=policy.key_grace))


def issue_session(
    workspace_id: int, contact_id: int, *, verification: Verification | None, now: datetime
) -> tuple[str, WidgetSession]:
    """Create a session for the contact; returns its token (shown once, never stored) and row."""
    token = secrets.token_urlsafe(32)
    session = WidgetSession(
        token_hash=token_hash(token),
        workspace_id=workspace_id,
        contact_id=contact_id,
        created_at=now,
        last_used_at=now,
    )
    if verification is not None:
        record_verification(session, verification)
    db.session.add(session)
    return token, session


def record_verification(session: WidgetSession, verification: Verification) -> None:
    session.verified_key = verification.key_thumbprint
    session.verified_at = verification.at
    session.verified_until = verification.until
    session.ended_at = None


def end_session(session: WidgetSession) -> None:
    db.session.delete(session)


def _end(*conditions, now: datetime) -> int:  # type: ignore[no-untyped-def]
    statement = (
        update(WidgetSession)
        .where(WidgetSession.ended_at.is_(None), *conditions)
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    result = cast("CursorResult[Any]", db.session.execute(statement))  # DML: a cursor result
    return int(result.rowcount or 0)


def end_sessions_verified_by(workspace_id: int, thumbprint: str, *, now: datetime) -> int:
    """A revoked key ends every session whose current verification came from it (still in force)."""
    return _end(
        WidgetSession.workspace_id == workspace_id,
        WidgetSession.verified_key == thumbprint,
        WidgetSession.verified_until > now,
        now=now,
    )


def end_unverified_sessions_of(contact_id: int, *, keep: int | None, now: datetime) -> int:
    """A contact that becomes verified: sessions someone opened unsigned as this id end."""
    conditions = [WidgetSession.contact_id == contact_id, WidgetSession.verified_until.is_(None)]
    if keep is not None:
        conditions.append(WidgetSession.id != keep)
    return _end(*conditions, now=now)


def end_unverified_identified_sessions(workspace_id: int, *, now: datetime) -> int:
    """Signed identification now required: unverified sessions of identified contacts end;
    anonymous visitors go on."""
    identified = select(Contact.id).where(
        Contact.workspace_id == workspace_id, Contact.external_id.is_not(None)
    )
    return _end(
        WidgetSession.workspace_id == workspace_id,
        WidgetSession.verified_until.is_(None),
        WidgetSession.contact_id.in_(identified),
        now=now,
    )
