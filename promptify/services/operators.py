"""Console operators: authentication, creation, roles, deactivation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from promptify.extensions import db
from promptify.models import Operator, Role
from promptify.services import transaction

# Compared against when the email is unknown, so both paths cost one hash check.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class OperatorRuleBroken(ValueError):
    pass


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
