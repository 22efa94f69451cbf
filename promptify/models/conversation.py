"""Conversations and messages (docs/widget-api.md, "Conversations")."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from promptify.models.base import Base, UTCDateTime


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Author(StrEnum):
    CONTACT = "contact"  # the visitor, through the widget
    AGENT = "agent"  # an operator, through the console


class Conversation(Base):
    __tablename__ = "conversation"
    __table_args__ = (
        Index(None, "workspace_id", "last_message_at"),
        Index(None, "contact_id", "last_message_at"),
        Index(None, "assignee_id", "status", "last_message_at"),  # "assigned to me"; migration 0002
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=Status.OPEN)
    preview: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_author: Mapped[str | None] = mapped_column(String(16))  # an Author: who spoke last
    # the newest visitor message: a conversation is unread for an operator while this is newer
    # than their `OperatorRead` mark (docs/operations.md, "The console")
    last_contact_message_id: Mapped[int | None] = mapped_column()
    # the visitor's own read mark: agent messages after it are unread in the widget
    contact_read_message_id: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (Index(None, "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(16))  # an Author
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    verified: Mapped[bool] = mapped_column(default=False)
    verified_key: Mapped[str | None] = mapped_column(String(64))  # thumbprint behind `verified`
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActivityKind(StrEnum):
    NOTE = "note"  # an operator's private note: never shown to the visitor
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    CLOSED = "closed"
    REOPENED = "reopened"


class Activity(Base):
    """What operators did in a conversation, shown in its thread between the messages. A table
    of its own, so the widget API, which reads `message` only, can never return a note."""

    __tablename__ = "activity"
    __table_args__ = (Index(None, "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # an ActivityKind
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="SET NULL"))
    body: Mapped[str | None] = mapped_column(Text)  # a note's text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OperatorRead(Base):
    """How far an operator has read a conversation: the newest visitor message they saw."""

    __tablename__ = "operator_read"

    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operator.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    message_id: Mapped[int] = mapped_column()
