"""Typed SQLAlchemy 2 models; importing this package registers every table for Alembic."""

from __future__ import annotations

from promptify.models.audit import AuditAction, AuditEvent
from promptify.models.base import Base, JSONDocument, UTCDateTime
from promptify.models.contact import Contact, Membership, Organization, WidgetSession
from promptify.models.conversation import (
    Activity,
    ActivityKind,
    Author,
    Conversation,
    Message,
    OperatorRead,
    Status,
)
from promptify.models.operator import (
    ConsoleSession,
    InstallationSettings,
    Operator,
    RecoveryCode,
    Role,
    TwoFactorMethod,
)
from promptify.models.outbox import EmailOutbox, OutboxState, Recipient
from promptify.models.workspace import (
    AllowedOrigin,
    IdentifyFailure,
    SigningKey,
    UsedJti,
    Workspace,
)

__all__ = [
    "Activity",
    "ActivityKind",
    "AllowedOrigin",
    "AuditAction",
    "AuditEvent",
    "Author",
    "Base",
    "Contact",
    "ConsoleSession",
    "Conversation",
    "EmailOutbox",
    "IdentifyFailure",
    "InstallationSettings",
    "JSONDocument",
    "Membership",
    "Message",
    "Operator",
    "OperatorRead",
    "Organization",
    "OutboxState",
    "Recipient",
    "RecoveryCode",
    "Role",
    "SigningKey",
    "Status",
    "TwoFactorMethod",
    "UTCDateTime",
    "UsedJti",
    "WidgetSession",
    "Workspace",
]
