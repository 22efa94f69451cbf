"""Console sessions (docs/security.md, "Console sessions"): one row per signed-in browser.

The signed session cookie carries a random 256-bit token; the database keeps only its SHA-256,
so a copy of the database signs nobody in. Every console request finds its row with one indexed
query (with the operator and the installation's two-factor rule), and a session is live while
it has not ended (sign-out, or the operator's password, role or access changed) and has not
expired. Ending is a write to the database, so it takes effect on every server process at once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, false, func, or_, select, update

from promptify.extensions import db
from promptify.models import ConsoleSession, InstallationSettings, Operator
from promptify.services import transaction

TOKEN_BYTES = 32
TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)
MAX_USER_AGENT = 255
MAX_ADDRESS = 64
_TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class Lifetimes:
    """How long console sessions last (docs/operations.md, "Configuration")."""

    idle: timedelta  # without "Keep me signed in": this long after the last request
    remembered: timedelta  # with it: this long after sign-in
    touch_every: timedelta  # last_seen_at (and an idle session's expiry) move at most this often

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Lifetimes:
        remembered = config["PERMANENT_SESSION_LIFETIME"]  # the cookie's own lifetime
        if not isinstance(remembered, timedelta):
            remembered = timedelta(seconds=int(remembered))
        return cls(
            idle=timedelta(seconds=int(config["CONSOLE_SESSION_IDLE_SECONDS"])),
            remembered=remembered,
            touch_every=timedelta(seconds=int(config["LAST_SEEN_THROTTLE_SECONDS"])),
        )


@dataclass(frozen=True)
class LiveSession:
    session: ConsoleSession
    operator: Operator
    two_factor_required: bool  # the installation requires two-factor sign-in of everyone


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like_token(value: object) -> bool:
    """A token this module issued could be `value` (an old `<id>:<generation>` session or
    remember-me cookie cannot), so nothing else costs a query."""
    return (
        isinstance(value, str) and len(value) == TOKEN_LENGTH and _TOKEN_ALPHABET.issuperset(value)
    )


def clean_user_agent(user_agent: str | None) -> str:
    """What the sessions list shows: printable characters only, at most 255 of them."""
    printable = "".join(c for c in (user_agent or "") if c.isprintable())
    return " ".join(printable.split())[:MAX_USER_AGENT]


def _clean_address(address: str | None) -> str | None:
    return address[:MAX_ADDRESS] if address else None


def start(
    operator: Operator,
    *,
    now: datetime,
    lifetimes: Lifetimes,
    remember: bool,
    user_agent: str | None,
    address: str | None,
    two_factor: str | None = None,
) -> tuple[str, int]:
    """A new session for `operator`: its token (for the cookie alone) and its id. The
    operator's sessions that ended or expired are deleted on the way."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.write():
        db.session.execute(
            delete(ConsoleSession)
            .where(
                ConsoleSession.operator_id == operator.id,
                or_(ConsoleSession.ended_at.is_not(None), ConsoleSession.expires_at <= now),
            )
            .execution_options(synchronize_session=False)
        )
        row = ConsoleSession(
            operator_id=operator.id,
            token_hash=token_hash(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + (lifetimes.remembered if remember else lifetimes.idle),
            remember=remember,
            user_agent=clean_user_agent(user_agent),
            address=_clean_address(address),
            two_factor=two_factor,
        )
        db.session.add(row)
        db.session.flush()
        session_id = row.id
    return token, session_id


_REQUIRE_TWO_FACTOR = (
    select(InstallationSettings.require_two_factor)
    .where(InstallationSettings.id == 1)
    .scalar_subquery()
)
# Built once: every console request runs it.
_FIND = (
    select(ConsoleSession, Operator, func.coalesce(_REQUIRE_TWO_FACTOR, false()))
    .join(Operator, Operator.id == ConsoleSession.operator_id)
    .where(ConsoleSession.token_hash == bindparam("token_hash"))
)


def find_live(token: str | None, *, now: datetime) -> LiveSession | None:
    """The live session `token` belongs to, with its operator; None for an unknown token, a
    session that ended or expired, and a deactivated operator's session."""
    if not looks_like_token(token):
        return None
    row = db.session.execute(_FIND, {"token_hash": token_hash(str(token))}).first()
    if row is None:
        return None
    session, operator, required = row
    if session.ended_at is not None or session.expires_at <= now or not operator.active:
        return None
    return LiveSession(session, operator, bool(required))


def touch(live: LiveSession, *, now: datetime, lifetimes: Lifetimes, address: str | None) -> None:
    """Note that the session was used now, at most once per `touch_every`: its last-seen time
    and address, and for a session without "Keep me signed in" its later expiry."""
    session = live.session
    if now - session.last_seen_at < lifetimes.touch_every:
        return
    values: dict[str, Any] = {"last_seen_at": now, "address": _clean_address(address)}
    if not session.remember:
        values["expires_at"] = now + lifetimes.idle
    with transaction.write():
        db.session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == session.id, ConsoleSession.ended_at.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def end(operator: Operator, session_id: int, *, now: datetime) -> bool:
    """End one of `operator`'s sessions (sign-out, or "Sign out" on the sessions list); False
    when it is not theirs or not live."""
    with transaction.write():
        ended = db.session.execute(
            update(ConsoleSession)
            .where(
                ConsoleSession.id == session_id,
                ConsoleSession.operator_id == operator.id,
                ConsoleSession.ended_at.is_(None),
                ConsoleSession.expires_at > now,
            )
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
    return cast("CursorResult[Any]", ended).rowcount == 1


def _end_all(operator_id: int, *, now: datetime, except_id: int | None) -> int:
    query = update(ConsoleSession).where(
        ConsoleSession.operator_id == operator_id, ConsoleSession.ended_at.is_(None)
    )
    if except_id is not None:
        query = query.where(ConsoleSession.id != except_id)
    result = db.session.execute(
        query.values(ended_at=now).execution_options(synchronize_session=False)
    )
    return cast("CursorResult[Any]", result).rowcount


def end_all_of(operator: Operator, *, now: datetime, except_id: int | None = None) -> int:
    """End every session of `operator` but `except_id` (the one making a change that keeps it);
    how many were live or expired but not yet ended. Inside a caller's write transaction it
    joins that transaction (all or nothing with the change); otherwise it is its own."""
    if transaction.in_write_transaction():
        return _end_all(operator.id, now=now, except_id=except_id)
    with transaction.write():
        return _end_all(operator.id, now=now, except_id=except_id)


def list_for(operator: Operator, *, now: datetime) -> list[ConsoleSession]:
    """`operator`'s live sessions, the most recently used first."""
    return list(
        db.session.scalars(
            select(ConsoleSession)
            .where(
                ConsoleSession.operator_id == operator.id,
                ConsoleSession.ended_at.is_(None),
                ConsoleSession.expires_at > now,
            )
            .order_by(ConsoleSession.last_seen_at.desc(), ConsoleSession.id.desc())
        )
    )


def count_live(operator: Operator, *, now: datetime) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(ConsoleSession)
            .where(
                ConsoleSession.operator_id == operator.id,
                ConsoleSession.ended_at.is_(None),
                ConsoleSession.expires_at > now,
            )
        )
        or 0
    )


def mark_two_factor(session_id: int, method: str) -> None:
    """Within the caller's write transaction: the session proved the second factor after it
    started (by setting two-factor sign-in up)."""
    db.session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == session_id)
        .values(two_factor=method)
        .execution_options(synchronize_session=False)
    )
