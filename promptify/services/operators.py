"""Console operators: authentication, creation, roles, deactivation, and each operator's own
profile (display name, time zone, email notifications, password; docs/operations.md, "The console").

A password change or reset, a role change, deactivating and re-activating end the operator's
console sessions in the same transaction (docs/security.md, "Console sessions"); re-activating
never revives a session from before.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from promptify.extensions import db
from promptify.models import AuditAction, Operator, Role
from promptify.services import audit, console_sessions, transaction
from promptify.services.audit import Actor

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
    operator = find_by_email(email)
    if operator is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(operator.password_hash, password) or not operator.active:
        return None
    return operator


def find_by_email(email: str) -> Operator | None:
    """None too for text no stored email can be (control characters: PostgreSQL refuses NUL)."""
    normalised = email.strip().lower()
    if not normalised.isprintable():
        return None
    return db.session.scalar(select(Operator).where(Operator.email == normalised))


def list_operators() -> list[Operator]:
    return list(
        db.session.scalars(select(Operator).order_by(Operator.active.desc(), Operator.email))
    )


def create_operator(
    email: str, name: str, role: str, password: str, *, now: datetime, actor: Actor = audit.SYSTEM
) -> Operator:
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
            audit.record(
                AuditAction.OPERATOR_CREATED,
                actor=actor,
                now=now,
                target=normalised,
                details={"role": role, "name": operator.name},
            )
    except IntegrityError:  # the same email created concurrently
        raise OperatorRuleBroken("An operator with this email already exists.") from None
    return operator


def set_up_operator(
    email: str, role: str, password: str, *, now: datetime, actor: Actor = audit.SYSTEM
) -> Operator:
    """CLI and demo: create the operator, or reset an existing one's role, password and access
    (ending their console sessions)."""
    normalised = email.strip().lower()
    password_hash = generate_password_hash(password)
    with transaction.write():
        operator = db.session.scalar(select(Operator).where(Operator.email == normalised))
        role_before, active_before = (
            (operator.role, operator.active) if operator is not None else (None, None)
        )
        if operator is None:
            operator = Operator(email=normalised, name=normalised.split("@")[0], created_at=now)
            db.session.add(operator)
        else:
            console_sessions.end_all_of(operator, now=now)
        operator.role = role
        operator.active = True
        operator.password_hash = password_hash
        audit.record_operator_set_up(
            operator, role_before=role_before, active_before=active_before, actor=actor, now=now
        )
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


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def set_role(
    operator: Operator,
    role: str,
    *,
    now: datetime | None = None,
    actor: Actor = audit.SYSTEM,
    keep_session_id: int | None = None,
) -> None:
    """Change the operator's role; a change ends their console sessions, except
    `keep_session_id` (the session of an admin changing their own role)."""
    with transaction.write():
        if (
            operator.role == Role.ADMIN
            and role != Role.ADMIN
            and _other_active_admins(operator) == 0
        ):
            raise OperatorRuleBroken("The last admin cannot stop being an admin.")
        before = operator.role
        if before != role:
            console_sessions.end_all_of(operator, now=_now(now), except_id=keep_session_id)
        operator.role = role
        audit.record_change(
            AuditAction.OPERATOR_ROLE_CHANGED,
            before,
            role,
            actor=actor,
            now=now,
            target=operator.email,
        )


def deactivate(
    operator: Operator, *, now: datetime | None = None, actor: Actor = audit.SYSTEM
) -> None:
    with transaction.write():
        if operator.role == Role.ADMIN and _other_active_admins(operator) == 0:
            raise OperatorRuleBroken("The last admin cannot be deactivated.")
        before = operator.active
        operator.active = False
        audit.record_change(
            AuditAction.OPERATOR_DISABLED,
            before,
            False,
            actor=actor,
            now=now,
            target=operator.email,
        )
        console_sessions.end_all_of(operator, now=_now(now))


def activate(
    operator: Operator, *, now: datetime | None = None, actor: Actor = audit.SYSTEM
) -> None:
    """Let a deactivated operator sign in again. Their console sessions from before stay ended
    (any still unended are ended now): they sign in afresh."""
    with transaction.write():
        before = operator.active
        operator.active = True
        audit.record_change(
            AuditAction.OPERATOR_ENABLED,
            before,
            True,
            actor=actor,
            now=now,
            target=operator.email,
        )
        console_sessions.end_all_of(operator, now=_now(now))


def reset_password(
    operator: Operator, password: str, *, now: datetime | None = None, actor: Actor = audit.SYSTEM
) -> None:
    """Give the operator a new password (an admin's reset, without the old one): every console
    session of theirs ends."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise OperatorRuleBroken(
            f"The password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH:,} characters."
        )
    password_hash = generate_password_hash(password)  # slow: before the write lock is taken
    with transaction.write():
        operator.password_hash = password_hash
        audit.record(
            AuditAction.OPERATOR_PASSWORD_RESET, actor=actor, now=now, target=operator.email
        )
        console_sessions.end_all_of(operator, now=_now(now))


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


def change_password(
    operator: Operator,
    current_password: str,
    new_password: str,
    *,
    now: datetime,
    keep_session_id: int | None,
) -> None:
    """Replace the operator's password when `current_password` is right, and end their console
    sessions but `keep_session_id` (the one making the change continues). A concurrent change
    wins: this one is then refused as a wrong current password, which it has become."""
    verified_hash = operator.password_hash
    if not check_password_hash(verified_hash, current_password):
        raise ProfileRejected("current_password", "The current password is wrong.")
    check_new_password(new_password)
    new_hash = generate_password_hash(new_password)  # slow: before the write lock is taken
    with transaction.write():
        result = db.session.execute(
            update(Operator)
            .where(Operator.id == operator.id, Operator.password_hash == verified_hash)
            .values(password_hash=new_hash)
            .execution_options(synchronize_session=False)
        )
        if cast("CursorResult[Any]", result).rowcount != 1:
            raise ProfileRejected("current_password", "The current password is wrong.")
        console_sessions.end_all_of(operator, now=now, except_id=keep_session_id)
