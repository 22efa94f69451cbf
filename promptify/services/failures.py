"""The admin's identification failure log (§2.2): what failed, never a secret or a signature."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from promptify.extensions import db
from promptify.identity.errors import IdentifyError
from promptify.models import IdentifyFailure, Workspace

log = logging.getLogger(__name__)


def _text(value: object, limit: int) -> str:
    # PostgreSQL refuses NUL in text and JSON, and a refused token may carry anything.
    return str(value)[:limit].replace("\x00", "\ufffd")


def _bounded(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keep at most 50 members of at most 500 characters each, so the log cannot be flooded."""
    if document is None:
        return None
    kept: dict[str, Any] = {}
    for key, value in list(document.items())[:50]:
        plain = value is None or isinstance(value, (bool, int)) or (isinstance(value, float) and value == value and abs(value) != float("inf"))
        kept[_text(key, 100)] = value if plain and not (isinstance(value, int) and abs(value) > 2**53) else _text(value, 500)
    return kept


def record(workspace: Workspace, error: IdentifyError, *, origin: str | None, now: datetime) -> None:
    """Store the failure in its own transaction (the identify's own was rolled back)."""
    workspace_id = workspace.id
    db.session.rollback()
    try:
        db.session.add(
            IdentifyFailure(
                workspace_id=workspace_id,
                created_at=now,
                code=error.code,
                message=_text(error.message, 2000),
                field=_text(error.field, 512) if error.field else None,
                origin=_text(origin, 255) if origin else None,
                token_header=_bounded(error.token_header),
                token_claims=_bounded(error.token_claims),
            )
        )
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not record identify failure %s for workspace %s", error.code, workspace_id)


@dataclass(frozen=True)
class FailurePage:
    items: list[IdentifyFailure]
    older_than: int | None  # pass as `before_id` for the next, older page; None on the last page


def recent(workspace: Workspace, *, before_id: int | None = None, limit: int = 20) -> FailurePage:
    """§4 failure log: newest first, keyset-paged by id (stable while new failures arrive)."""
    query = select(IdentifyFailure).where(IdentifyFailure.workspace_id == workspace.id)
    if before_id is not None:
        query = query.where(IdentifyFailure.id < before_id)
    rows = list(db.session.scalars(query.order_by(IdentifyFailure.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return FailurePage(rows, rows[-1].id if more and rows else None)
