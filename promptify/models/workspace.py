"""Workspace aggregate: allowed origins, signing keys, used jti values, identification failures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from promptify.models.base import Base, JSONDocument, UTCDateTime


class Workspace(Base):
    __tablename__ = "workspace"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    require_jwt: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # refused identifications past the failure log's cap: deleted, only counted
    failures_dropped: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    origins: Mapped[list[AllowedOrigin]] = relationship(
        back_populates="workspace", cascade="all, delete-orphan", order_by="AllowedOrigin.origin"
    )


class AllowedOrigin(Base):
    __tablename__ = "allowed_origin"
    __table_args__ = (UniqueConstraint("workspace_id", "origin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(String(255))

    workspace: Mapped[Workspace] = relationship(back_populates="origins")


class SigningKey(Base):
    """An SPKI public key; current while `retired_at` is null (docs/security.md, "Keys")."""

    __tablename__ = "signing_key"
    __table_args__ = (UniqueConstraint("workspace_id", "thumbprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    thumbprint: Mapped[str] = mapped_column(String(64))
    key_type: Mapped[str] = mapped_column(String(16))
    algorithms: Mapped[str] = mapped_column(String(64))  # comma-separated JWS alg names
    bits: Mapped[int]
    spki_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # when it last verified a token (throttled like a contact's last_seen)
    last_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsedJti(Base):
    """A consumed one-time `jti`; the unique constraint is the replay guard across processes."""

    __tablename__ = "used_jti"
    __table_args__ = (UniqueConstraint("workspace_id", "jti"), Index(None, "expires_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdentifyFailure(Base):
    """One refused identify call, for the admin's failure log. Never holds a signature."""

    __tablename__ = "identify_failure"
    __table_args__ = (
        Index(None, "workspace_id", "created_at"),
        Index(None, "contact_id"),
        Index("ix_identify_failure_workspace_id_id", "workspace_id", "id"),  # the cap's trim
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    # the contact of the session the refused call carried, so the side panel can show it
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(512))
    origin: Mapped[str | None] = mapped_column(String(255))
    token_header: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    token_claims: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
