"""Retention (`promptify purge`): expired jti records, stale anonymous contacts, old failures,
audit events past their retention (at least a year: docs/operations.md, "Retention").

Safe while serving: small batches, each its own short transaction, and every delete re-checks its
condition, so a visitor who comes back (or starts a conversation) mid-purge is never removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, exists, select

from promptify.extensions import db
from promptify.models import (
    AuditEvent,
    Contact,
    Conversation,
    IdentifyFailure,
    UsedJti,
    WidgetSession,
)
from promptify.services import transaction
from promptify.services.policy import MIN_AUDIT_RETENTION, Policy

BATCH = 2000


@dataclass(frozen=True)
class PurgeReport:
    jti: int
    sessions: int
    anonymous_contacts: int
    failures: int
    audit_events: int


def _stale_anonymous(cutoff: datetime):  # type: ignore[no-untyped-def]
    return (
        Contact.external_id.is_(None),
        Contact.last_seen_at < cutoff,
        ~exists().where(Conversation.contact_id == Contact.id),
    )


def _delete_in_batches(model, conditions) -> int:  # type: ignore[no-untyped-def]
    total = 0
    while True:
        with transaction.write():
            ids = list(db.session.scalars(select(model.id).where(*conditions).limit(BATCH)))
            if ids:
                statement = delete(model).where(model.id.in_(ids), *conditions)
                result = cast("CursorResult[Any]", db.session.execute(statement))
                total += result.rowcount or 0
        if not ids:
            return total


def purge(*, now: datetime, policy: Policy) -> PurgeReport:
    """Delete what no rule needs any more; sessions of deleted contacts go with them (FK cascade)."""
    jti = _delete_in_batches(UsedJti, (UsedJti.expires_at < now,))
    sessions = _delete_in_batches(
        WidgetSession, (WidgetSession.last_used_at < now - policy.session_idle,)
    )
    anonymous = _delete_in_batches(Contact, _stale_anonymous(now - policy.anonymous_retention))
    failures = _delete_in_batches(
        IdentifyFailure, (IdentifyFailure.created_at < now - policy.failure_retention,)
    )
    audit_events = _delete_in_batches(
        AuditEvent,
        (AuditEvent.created_at < now - max(policy.audit_retention, MIN_AUDIT_RETENTION),),
    )
    return PurgeReport(jti, sessions, anonymous, failures, audit_events)
