"""Contacts, organizations, memberships and widget sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from promptify.models.base import Base, JSONDocument, UTCDateTime


class Contact(Base):
    """A widget user: anonymous while `external_id` is null, else identified (unique per workspace)."""

    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index(None, "workspace_id", "last_seen_at"),
        Index(
            "ix_contact_workspace_id_email_folded", "workspace_id", "email_folded"
        ),  # email claims
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    # True while the stored email came from a signed token; a typed one is only a claim
    # (docs/security.md, "Email claims")
    email_verified: Mapped[bool] = mapped_column(default=False, server_default=false())
    email_folded: Mapped[str | None] = mapped_column(String(320))  # lower-cased, to find claims
    name: Mapped[str | None] = mapped_column(String(255))
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    attrs: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    verified: Mapped[bool] = mapped_column(default=False)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_page_url: Mapped[str | None] = mapped_column(String(2048))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    # raised by every change to what the widget's conversation list shows: its ETag
    # (docs/widget-api.md, "Conversations")
    widget_version: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    @property
    def anonymous(self) -> bool:
        return self.external_id is None


class Organization(Base):
    __tablename__ = "organization"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index(None, "workspace_id", "name", "id"),  # the directory's alphabetical keyset paging
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    attrs: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    # a signed token asserted its name or attrs: from then on only signed identifies change them
    verified: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (Index(None, "organization_id"),)

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )


class WidgetSession(Base):
    """An opaque widget session; only the SHA-256 of its token is stored.

    A verified session records the key that verified it, when, and until when that proof holds
    (docs: trust lifecycle). `ended_at` is set when a cascade ends it (key revoked, contact
    verified, signed identification required): such a session answers `session_expired`.
    """

    __tablename__ = "widget_session"
    __table_args__ = (
        Index(None, "contact_id"),
        Index("ix_widget_session_workspace_id_verified_key", "workspace_id", "verified_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    verified_key: Mapped[str | None] = mapped_column(String(64))  # RFC 7638 thumbprint
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime)
