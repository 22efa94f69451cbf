"""The admin's identification failure log: what failed, never a secret or a signature."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from promptify.extensions import db
from promptify.identity.errors import ApiError
from promptify.models import IdentifyFailure, WidgetSession, Workspace
from promptify.services import transaction
from promptify.services.policy import Policy
from promptify.services.sessions import MAX_TOKEN_LENGTH, token_hash

log = logging.getLogger(__name__)


def _text(value: object, limit: int) -> str:
    # PostgreSQL refuses NUL in text and JSON, and a refused token may carry anything.
    return str(value)[:limit].replace("\x00", "\ufffd")


MAX_MEMBERS = 50
MAX_STRING = 500
MAX_DEPTH = 4


def _bounded(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """The refused token's header or claims as the JSON they were (nested objects and arrays
    stay JSON), bounded so the log cannot be flooded: at most 50 members per level, strings of
    at most 500 characters, 4 levels deep."""
    if document is None:
        return None
    return _json_value(document, MAX_DEPTH)  # type: ignore[return-value]


def _json_value(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) <= 2**53 else _text(value, MAX_STRING)
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else _text(value, MAX_STRING)
    if isinstance(value, str):
        return _text(value, MAX_STRING)
    if depth <= 0:
        return "…"
    if isinstance(value, dict):
        return {
            _text(k, 100): _json_value(v, depth - 1) for k, v in list(value.items())[:MAX_MEMBERS]
        }
    if isinstance(value, (list, tuple)):
        return [_json_value(v, depth - 1) for v in list(value)[:MAX_MEMBERS]]
    return _text(value, MAX_STRING)


def record(
    workspace: Workspace,
    error: ApiError,
    *,
    origin: str | None,
    now: datetime,
    policy: Policy,
    session_token: str | None = None,
) -> None:
    """Store the failure in its own transaction (the identify's own was rolled back), with the
    contact of the session the call carried, so the agent sees the refusal in the side panel.
    The log keeps the newest `policy.failure_log_rows` of the workspace and counts the others."""
    workspace_id = workspace.id
    db.session.rollback()
    try:
        with transaction.write():
            db.session.add(
                IdentifyFailure(
                    workspace_id=workspace_id,
                    contact_id=_contact_of(workspace_id, session_token),
                    created_at=now,
                    code=error.code,
                    message=_text(error.message, 2000),
                    field=_text(error.field, 512) if error.field else None,
                    origin=_text(origin, 255) if origin else None,
                    token_header=_bounded(error.token_header),
                    token_claims=_bounded(error.token_claims),
                )
            )
            db.session.flush()
            _trim(workspace_id, keep=policy.failure_log_rows)
    except SQLAlchemyError:
        log.warning(
            "could not record identify failure %s for workspace %s", error.code, workspace_id
        )


def _trim(workspace_id: int, *, keep: int) -> None:
    """Delete the workspace's failures older than its newest `keep`, adding them to the count
    the log shows (a flood of refused calls cannot fill the disk)."""
    oldest_kept = db.session.scalar(
        select(IdentifyFailure.id)
        .where(IdentifyFailure.workspace_id == workspace_id)
        .order_by(IdentifyFailure.id.desc())
        .offset(max(keep, 1) - 1)
        .limit(1)
    )
    if oldest_kept is None:
        return
    dropped = cast(
        CursorResult,
        db.session.execute(
            delete(IdentifyFailure).where(
                IdentifyFailure.workspace_id == workspace_id, IdentifyFailure.id < oldest_kept
            )
        ),
    ).rowcount
    if dropped:
        db.session.execute(
            update(Workspace)
            .where(Workspace.id == workspace_id)
            .values(failures_dropped=Workspace.failures_dropped + dropped)
        )


def _contact_of(workspace_id: int, session_token: str | None) -> int | None:
    if not session_token or len(session_token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(
        select(WidgetSession.contact_id).where(
            WidgetSession.token_hash == token_hash(session_token),
            WidgetSession.workspace_id == workspace_id,
        )
    )


def latest_for_contact(contact_id: int) -> IdentifyFailure | None:
    """The most recent refused identification carrying this visitor's session (side panel)."""
    return db.session.scalar(
        select(IdentifyFailure)
        .where(IdentifyFailure.contact_id == contact_id)
        .order_by(IdentifyFailure.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class FailurePage:
    items: list[IdentifyFailure]
    older_than: int | None  # pass as `before_id` for the next, older page; None on the last page


def recent(workspace: Workspace, *, before_id: int | None = None, limit: int = 20) -> FailurePage:
    """The failure log page: newest first, keyset-paged by id (stable while new failures arrive)."""
    query = select(IdentifyFailure).where(IdentifyFailure.workspace_id == workspace.id)
    if before_id is not None:
        query = query.where(IdentifyFailure.id < before_id)
    rows = list(db.session.scalars(query.order_by(IdentifyFailure.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return FailurePage(rows, rows[-1].id if more and rows else None)
