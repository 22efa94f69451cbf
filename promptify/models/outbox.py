"""Queued notification emails (docs/operations.md, "Email notifications").

A row is written in the transaction of the message that calls for it, and stands for one email
to one recipient about one burst of messages: until a sender takes it, `burst_key` is set and
unique, so later messages join the burst instead of adding a row. Senders claim due rows a batch
at a time (`claimed_until` is the lease) and record each delivery or failed attempt.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from promptify.models.base import Base, UTCDateTime


class Recipient(StrEnum):
    OPERATOR = "operator"  # visitor messages the operator has not read
    CONTACT = "contact"  # agent replies the visitor has not read


class OutboxState(StrEnum):
    PENDING = "pending"  # waiting for its time, a sender, or a retry
    SENT = "sent"
    FAILED = "failed"  # given up after the last retry


class EmailOutbox(Base):
    __tablename__ = "email_outbox"
    __table_args__ = (Index(None, "state", "next_attempt_at"),)  # what is due

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(16))  # a Recipient
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    # "<recipient>:<conversation>[:<operator>]" while the burst is open; null once a sender took it
    burst_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    first_message_id: Mapped[int] = mapped_column()  # the message that opened the burst
    # the burst's newest message, fixed when a sender first takes the row: later ones open another
    last_message_id: Mapped[int | None] = mapped_column()
    state: Mapped[str] = mapped_column(
        String(16), default=OutboxState.PENDING, server_default=OutboxState.PENDING.value
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))  # the sender holding the lease
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_to: Mapped[str | None] = mapped_column(String(320))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
