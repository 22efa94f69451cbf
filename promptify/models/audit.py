"""The audit log (docs/security.md, "Audit log"): one row per change to keys, signed
identification, allowed origins or operators, and per console sign-in.

A row is written in the transaction of the change it records, so a change that rolls back leaves
no record and a record never describes a change that did not happen. Who did it is kept twice:
`operator_id` for filtering (null once that operator is deleted, or for the command line) and
`actor`, the label at the time (an email, `cli:<user>`), which survives the operator's deletion.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from promptify.models.base import Base, JSONDocument, UTCDateTime


class AuditAction(StrEnum):
    """What happened; stored as its dotted name (a plain string column, so adding one needs no
    migration)."""

    KEY_ADDED = "key.added"  # a key became current where none was
    KEY_REPLACED = "key.replaced"  # ... and the previous current key started its grace period
    KEY_REVOKED = "key.revoked"
    REQUIRE_JWT = "workspace.require_jwt"  # signed identification switched on or off
    ORIGINS_CHANGED = "origins.changed"
    OPERATOR_CREATED = "operator.created"
    OPERATOR_ROLE_CHANGED = "operator.role_changed"
    OPERATOR_DISABLED = "operator.disabled"
    OPERATOR_ENABLED = "operator.enabled"
    OPERATOR_PASSWORD_RESET = "operator.password_reset"
    SIGN_IN_SUCCEEDED = "sign_in.succeeded"
    SIGN_IN_FAILED = "sign_in.failed"


class AuditEvent(Base):
    __tablename__ = "audit_event"
    # newest first, alone or within one filter: every list is (created_at, id) descending
    __table_args__ = (
        Index(None, "created_at", "id"),
        Index(None, "action", "created_at", "id"),
        Index(None, "operator_id", "created_at", "id"),
        Index(None, "workspace_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # null for installation-wide events (operators, sign-ins) and once the workspace is deleted
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspace.id", ondelete="SET NULL")
    )
    # who: the signed-in operator (for a sign-in, the account tried); null for the command line
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(320))  # their email at the time, or `cli:<user>`
    address: Mapped[str | None] = mapped_column(String(64))  # the client address the app saw
    action: Mapped[str] = mapped_column(String(64))  # an AuditAction
    target: Mapped[str | None] = mapped_column(String(320))  # a thumbprint, an email...
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # before/after, counts
