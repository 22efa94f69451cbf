"""Console operators: admins change settings and keys, agents use the inbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import String, text, true
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
    # raised when the password changes: console sessions carrying an older value end
    session_generation: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    @property
    def is_active(self) -> bool:  # Flask-Login refuses deactivated operators
        return self.active
