"""Console operators (admins change settings and keys, agents use the inbox), their console
sessions and two-factor sign-in, and the installation-wide sign-in rule
(docs/security.md, "Console sessions")."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column

from promptify.models.base import Base, UTCDateTime


class Role(StrEnum):
    ADMIN = "admin"  # settings, keys, team, and everything an agent does
    AGENT = "agent"  # the inbox and the directories


class Operator(UserMixin, Base):
    __tablename__ = "operator"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # a Role
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    notify_email: Mapped[bool] = mapped_column(default=True, server_default=true())
    # two-factor sign-in (TOTP, RFC 6238): the base32 secret once confirmed, the one shown while
    # setting it up, and the last time step a code was accepted for (each code works once)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None]
    two_factor_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses deactivated operators
        return self.active

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None


class TwoFactorMethod(StrEnum):
    """How a console session's sign-in proved the second factor."""

    TOTP = "totp"  # a code from the authenticator app
    RECOVERY_CODE = "recovery_code"
    ENROLMENT = "enrolment"  # set up during this session, with a code from the new app


class ConsoleSession(Base):
    """One signed-in browser: the signed session cookie carries a random token, the database
    only its SHA-256. Live while not ended and not expired."""

    __tablename__ = "console_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("operator.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)  # rewritten at most once a minute
    # "Keep me signed in": a fixed time after sign-in; otherwise moved on with last_seen_at
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remember: Mapped[bool] = mapped_column(default=False, server_default=false())
    user_agent: Mapped[str] = mapped_column(String(255), default="", server_default="")
    address: Mapped[str | None] = mapped_column(String(64))
    two_factor: Mapped[str | None] = mapped_column(String(16))  # a TwoFactorMethod, or none
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(Base):
    """A one-time code for when the authenticator app is lost: only its SHA-256 is kept."""

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("operator_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InstallationSettings(Base):
    """Settings of the whole installation (every workspace): at most one row, id 1. A missing
    row means the defaults."""

    __tablename__ = "installation_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    require_two_factor: Mapped[bool] = mapped_column(default=False, server_default=false())
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
