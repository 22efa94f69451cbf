"""Console operators: authentication, creation, roles, deactivation, and each operator's own
profile (display name, time zone, email notifications, password; docs/operations.md, "The console").
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from promptify.extensions import db
from promptify.models import Operator, Role
from promptify.services import transaction

# Compared against when the email is unknown, so both paths cost one hash check.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


MIN_PASSWORD_LENGTH = 8  # as for operators created on the Team page or with the CLI
MAX_PASSWORD_LENGTH = 1024
MAX_NAME_LENGTH = 255  # the column's length
# In `zoneinfo.available_timezones()` on some systems, but not zones anyone lives in: `localtime`
# is whatever the server's zone is, `posixrules` a compiler default, `Factory` a placeholder.
_NOT_TIME_ZONES = frozenset({"localtime", "posixrules", "Factory"})


class OperatorRuleBroken(ValueError):
    pass


class ProfileRejected(ValueError):
    """A profile change that was refused, naming the form field it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def authenticate(email: str, password: str) -> Operator | None:
    operator = db.session.scalar(select(Operator).where(Operator.email == email.strip().lower()))
    if operator is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(operator.password_hash, password) or not operator.active:
        return None
    return operator


def list_operators() -> list[Operator]:
    return list(
        db.session.scalars(select(Operator).order_by(Operator.active.desc(), Operator.email))
    )


def create_operator(email: str, name: str, role: str, password: str, *, now: datetime) -> Operator:
    normalised = email.strip().lower()
    password_hash = generate_password_hash(password)  # slow: before the write lock is taken
    try:
        with transaction.write():
            if (
                db.session.scalar(select(Operator.id).where(Operator.email == normalised))
                is not None
            ):
                raise OperatorRuleBroken("An operator with this email already exists.")
            operator = Operator(
                email=normalised,
                name=name.strip() or normalised.split("@")[0],
                role=role,
                password_hash=password_hash,
                active=True,
                created_at=now,
            )
            db.session.add(operator)
    except IntegrityError:  # the same email created concurrently
        raise OperatorRuleBroken("An operator with this email already exists.") from None
    return operator


def set_up_operator(email: str, role: str, password: str, *, now: datetime) -> Operator:
    """CLI and demo: create the operator, or reset an existing one's role, password and access."""
    normalised = email.strip().lower()
    password_hash = generate_password_hash(password)
    with transaction.write():
        operator = db.session.scalar(select(Operator).where(Operator.email == normalised))
        if operator is None:
            operator = Operator(email=normalised, name=normalised.split("@")[0], created_at=now)
            db.session.add(operator)
        operator.role = role
        operator.active = True
        operator.password_hash = password_hash
    return operator


def _other_active_admins(operator: Operator) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Operator)
            .where(
                Operator.role == Role.ADMIN, Operator.active.is_(True), Operator.id != operator.id
            )
        )
        or 0
    )


def set_role(operator: Operator, role: str) -> None:
    with transaction.write():
        if (
            operator.role == Role.ADMIN
            and role != Role.ADMIN
            and _other_active_admins(operator) == 0
        ):
            raise OperatorRuleBroken("The last admin cannot stop being an admin.")
        operator.role = role


def deactivate(operator: Operator) -> None:
    with transaction.write():
        if operator.role == Role.ADMIN and _other_active_admins(operator) == 0:
            raise OperatorRuleBroken("The last admin cannot be deactivated.")
        operator.active = False


# --- each operator's own profile ----------------------------------------------------------------


def clean_display_name(name: str) -> str:
    """The name visitors see on an operator's replies: 1–255 printable characters once the
    surrounding whitespace is stripped (no control characters, NUL, line breaks or invisible
    formatting characters)."""
    cleaned = name.strip()
    if not cleaned:
        raise ProfileRejected("name", "Enter a display name: visitors see it on your replies.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ProfileRejected(
            "name",
            f"The display name is {len(cleaned):,} characters long; the limit is {MAX_NAME_LENGTH}.",
        )
    unprintable = next((c for c in cleaned if not c.isprintable()), None)
    if unprintable is not None:
        raise ProfileRejected(
            "name",
            f"The display name contains an invisible or control character "
            f"(U+{ord(unprintable):04X}); use letters, digits, spaces and punctuation.",
        )
    return cleaned


@cache
def time_zone_names() -> frozenset[str]:
    """The IANA time zone names this installation knows (its tz database), plus UTC."""
    return frozenset(zoneinfo.available_timezones() - _NOT_TIME_ZONES) | {"UTC"}


@cache
def _time_zones_by_lower_case() -> dict[str, str]:
    return {name.lower(): name for name in time_zone_names()}


def clean_time_zone(name: str) -> str:
    """An IANA time zone name such as `Europe/Berlin`, spelled as the tz database spells it
    (`europe/berlin` is accepted as that)."""
    cleaned = name.strip()
    if not cleaned:
        raise ProfileRejected("time_zone", "Enter a time zone such as Europe/Berlin.")
    if cleaned in time_zone_names():
        return cleaned
    known = _time_zones_by_lower_case().get(cleaned.lower())
    if known is not None:
        return known
    raise ProfileRejected(
        "time_zone",
        "Unknown time zone: enter an IANA name such as Europe/Berlin, America/New_York or UTC.",
    )


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ProfileRejected(
            "new_password", f"The new password needs at least {MIN_PASSWORD_LENGTH} characters."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ProfileRejected(
            "new_password", f"The new password may have at most {MAX_PASSWORD_LENGTH:,} characters."
        )


def update_profile(
    operator: Operator,
    *,
    name: str | None = None,
    time_zone: str | None = None,
    notify_email: bool | None = None,
) -> None:
    """Change the given parts of an operator's own profile: every value is checked first
    (`ProfileRejected`), then all are written in one transaction."""
    cleaned_name = clean_display_name(name) if name is not None else None
    cleaned_zone = clean_time_zone(time_zone) if time_zone is not None else None
    with transaction.write():
        if cleaned_name is not None:
            operator.name = cleaned_name
        if cleaned_zone is not None:
            operator.time_zone = cleaned_zone
        if notify_email is not None:
            operator.notify_email = notify_email


def change_password(operator: Operator, current_password: str, new_password: str) -> None:
    """Replace the operator's password when `current_password` is right, and raise their session
    generation: every console session and remember-me cookie issued before ends at its next
    request (the caller re-issues the one it is serving). A concurrent change wins: this one is
    then refused as a wrong current password, which it has become."""
    verified_hash = operator.password_hash
    if not check_password_hash(verified_hash, current_password):
        raise ProfileRejected("current_password", "The current password is wrong.")
    check_new_password(new_password)
    new_hash = generate_password_hash(new_password)  # slow: before the write lock is taken
    with transaction.write():
        result = db.session.execute(
            update(Operator)
            .where(Operator.id == operator.id, Operator.password_hash == verified_hash)
            .values(password_hash=new_hash, session_generation=Operator.session_generation + 1)
            .execution_options(synchronize_session=False)
        )
        if cast("CursorResult[Any]", result).rowcount != 1:
            raise ProfileRejected("current_password", "The current password is wrong.")
