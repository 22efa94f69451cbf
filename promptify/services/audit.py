"""The audit log (docs/security.md, "Audit log"): writing events, listing them, and their CSV.

`record` adds an event to the write transaction the change runs in, so the change and its
record commit or roll back together; it refuses to run outside one. The services that make the
changes call it; who made a change, and from where, reaches them as an `Actor` built by the view
or the command. `record_sign_in` writes a console sign-in in its own short transaction, since a
failed sign-in has no other write.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, inspect, or_, select

from promptify.extensions import db
from promptify.models import AuditAction, AuditEvent, Operator, Workspace
from promptify.services import transaction

MAX_LABEL = 320  # audit_event.actor and .target
MAX_ADDRESS = 64  # audit_event.address
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


@dataclass(frozen=True)
class Actor:
    """Who makes a change and from where: a signed-in operator (their id, their email as the
    label, the client address the app saw), or a command (`cli:<user>`, no address)."""

    operator_id: int | None
    label: str
    address: str | None = None


# Changes made by code that names nobody (scripts calling the services directly); the console's
# views, the command line and the demo always name their actor.
SYSTEM = Actor(operator_id=None, label="system")


def _text(value: object, limit: int) -> str:
    # PostgreSQL refuses NUL in text and JSON, and a typed sign-in email may carry anything.
    return str(value)[:limit].replace("\x00", "\ufffd")


def _clean(document: Any) -> Any:
    if isinstance(document, str):
        return _text(document, 1000)
    if isinstance(document, Mapping):
        return {_text(k, 100): _clean(v) for k, v in document.items()}
    if isinstance(document, (list, tuple, set, frozenset)):
        items = sorted(document) if isinstance(document, (set, frozenset)) else document
        return [_clean(v) for v in items]
    return document


def record(
    action: AuditAction,
    *,
    actor: Actor,
    now: datetime | None,
    workspace_id: int | None = None,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add one event to the current write transaction (never a commit of its own): the change
    and its record are written together or not at all. `now` is the time the caller passed to
    the service; None (a script that passed none) reads the system clock."""
    if not transaction.in_write_transaction():
        raise RuntimeError("audit.record runs inside the write transaction of the change")
    event = AuditEvent(
        created_at=now if now is not None else datetime.now(UTC),
        workspace_id=workspace_id,
        operator_id=actor.operator_id,
        actor=_text(actor.label, MAX_LABEL),
        address=_text(actor.address, MAX_ADDRESS) if actor.address else None,
        action=str(action),
        target=_text(target, MAX_LABEL) if target is not None else None,
        details=_clean(dict(details or {})),
    )
    db.session.add(event)
    return event


def record_change(
    action: AuditAction,
    before: Any,
    after: Any,
    *,
    actor: Actor,
    now: datetime | None,
    target: str | None = None,
    workspace_id: int | None = None,
) -> AuditEvent | None:
    """One event with the value before and after when it changed, none when it did not. The
    caller reads `before` itself: an ORM history is lost when a commit expired the instance."""
    if before == after:
        return None
    return record(
        action,
        actor=actor,
        now=now,
        workspace_id=workspace_id,
        target=target,
        details={"before": before, "after": after},
    )


def record_operator_set_up(
    operator: Operator,
    *,
    role_before: str | None,
    active_before: bool | None,
    actor: Actor,
    now: datetime | None,
) -> None:
    """For the command that creates an operator or resets an existing one's role, password and
    access: `operator.created` for a new one, otherwise `operator.password_reset` and, when they
    changed, `operator.role_changed` and `operator.enabled`."""
    if inspect(operator).pending:
        record(
            AuditAction.OPERATOR_CREATED,
            actor=actor,
            now=now,
            target=operator.email,
            details={"role": operator.role},
        )
        return
    target = operator.email
    record_change(
        AuditAction.OPERATOR_ROLE_CHANGED,
        role_before,
        operator.role,
        actor=actor,
        now=now,
        target=target,
    )
    record_change(
        AuditAction.OPERATOR_ENABLED,
        active_before,
        operator.active,
        actor=actor,
        now=now,
        target=target,
    )
    record(AuditAction.OPERATOR_PASSWORD_RESET, actor=actor, now=now, target=target)


def record_sign_in(
    email: str,
    operator: Operator | None,
    succeeded: bool,
    address: str | None,
    now: datetime,
    *,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """A console sign-in, in its own short write transaction. The event names the account tried:
    `operator` when the sign-in succeeded, otherwise the operator with that email if any (a typed
    email that matches nobody is kept as typed, so an admin sees what was tried)."""
    typed = email.strip().lower()
    with transaction.write():
        operator_id: int | None
        if operator is not None:
            operator_id, label = operator.id, operator.email
        else:
            label = _text(typed, MAX_LABEL)
            operator_id = db.session.scalar(select(Operator.id).where(Operator.email == label))
        return record(
            AuditAction.SIGN_IN_SUCCEEDED if succeeded else AuditAction.SIGN_IN_FAILED,
            actor=Actor(operator_id, label, address),
            now=now,
            details=details,
        )


# --- reading: filters, newest-first pages, CSV ----------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Every part is optional; `since` is inclusive, `until` exclusive."""

    action: AuditAction | None = None
    operator_id: int | None = None
    workspace_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.action is not None:
            found.append(AuditEvent.action == self.action.value)
        if self.operator_id is not None:
            found.append(AuditEvent.operator_id == self.operator_id)
        if self.workspace_id is not None:
            found.append(AuditEvent.workspace_id == self.workspace_id)
        if self.since is not None:
            found.append(AuditEvent.created_at >= self.since)
        if self.until is not None:
            found.append(AuditEvent.created_at < self.until)
        return found


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"(?P<micros>[0-9]{1,16})-(?P<id>[0-9]{1,10})")  # until 2286


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first order: the events strictly older than (created_at, id)."""

    created_at: datetime
    id: int

    def __str__(self) -> str:
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}-{self.id}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        match = _CURSOR.fullmatch(text)
        if match is None or not 0 < int(match["id"]) <= MAX_ID:
            raise BadCursor("This page link is not valid: start again from the newest events.")
        return cls(_EPOCH + timedelta(microseconds=int(match["micros"])), int(match["id"]))

    def condition(self) -> Any:
        return or_(
            AuditEvent.created_at < self.created_at,
            and_(AuditEvent.created_at == self.created_at, AuditEvent.id < self.id),
        )


@dataclass(frozen=True)
class Page:
    events: list[AuditEvent]
    older: Cursor | None  # where the next page starts; None on the last page


NEWEST_FIRST = (AuditEvent.created_at.desc(), AuditEvent.id.desc())


def page(filters: Filters, *, before: Cursor | None = None, limit: int = 50) -> Page:
    """One page of events, newest first (keyset: stable while new events arrive)."""
    query = select(AuditEvent).where(*filters.conditions())
    if before is not None:
        query = query.where(before.condition())
    events = list(db.session.scalars(query.order_by(*NEWEST_FIRST).limit(limit + 1)))
    older = None
    if len(events) > limit:
        events = events[:limit]
        older = Cursor(events[-1].created_at, events[-1].id)
    return Page(events, older)


def all_events(filters: Filters, *, batch: int = 500) -> Iterator[AuditEvent]:
    """Every matching event, newest first, fetched a batch at a time."""
    before = None
    while True:
        chunk = page(filters, before=before, limit=batch)
        yield from chunk.events
        if chunk.older is None:
            return
        before = chunk.older


def _short(thumbprint: object) -> str:
    text = str(thumbprint or "")
    return text[:12] + "…" if len(text) > 12 else text


def _sessions(count: object) -> str:
    number = count if isinstance(count, int) else 0
    return f"{number} session{'' if number == 1 else 's'}"


def describe(event: AuditEvent) -> str:
    """One line of plain text saying what changed (the page escapes it, the CSV quotes it)."""
    details = event.details or {}
    target = event.target or ""
    action = event.action
    if action == AuditAction.KEY_ADDED:
        return f"Added the {details.get('key_type', '')} key {_short(target)}: it is current"
    if action == AuditAction.KEY_REPLACED:
        previous = ", ".join(_short(t) for t in details.get("replaced", []))
        return (
            f"Made the {details.get('key_type', '')} key {_short(target)} current, replacing "
            f"{previous} (still valid during its grace period)"
        )
    if action == AuditAction.KEY_REVOKED:
        ended = _sessions(details.get("sessions_ended"))
        return f"Revoked the {details.get('key_type', '')} key {_short(target)}; {ended} ended"
    if action == AuditAction.REQUIRE_JWT:
        if details.get("after"):
            ended = _sessions(details.get("sessions_ended"))
            return f"Required signed identification; {ended} of identified users ended"
        return "Stopped requiring signed identification"
    if action == AuditAction.ORIGINS_CHANGED:
        parts = []
        if details.get("added"):
            parts.append("added " + ", ".join(map(str, details["added"])))
        if details.get("removed"):
            parts.append("removed " + ", ".join(map(str, details["removed"])))
        left = details.get("count")
        suffix = "; the list is empty: any origin may call" if left == 0 else ""
        return "Allowed origins: " + "; ".join(parts) + suffix
    if action == AuditAction.OPERATOR_CREATED:
        return f"Added {target} as {details.get('role', '')}"
    if action == AuditAction.OPERATOR_ROLE_CHANGED:
        return (
            f"Changed the role of {target} from {details.get('before')} to {details.get('after')}"
        )
    if action == AuditAction.OPERATOR_DISABLED:
        return f"Deactivated {target}"
    if action == AuditAction.OPERATOR_ENABLED:
        return f"Re-activated {target}"
    if action == AuditAction.OPERATOR_PASSWORD_RESET:
        return f"Reset the password of {target}"
    second_factor = details.get("second_factor")
    if action == AuditAction.SIGN_IN_SUCCEEDED:
        method = f" (second factor: {second_factor})" if second_factor else ""
        return f"Signed in to the console{method}"
    if action == AuditAction.SIGN_IN_FAILED:
        if second_factor:
            return "Sign-in refused: the second factor was wrong"
        if not event.operator_id:
            return "Sign-in refused: no operator has this email"
        return "Sign-in refused: wrong password, or the operator is deactivated"
    return f"{action} {target}".strip()


# Characters that make a spreadsheet read a cell as a formula (and tab, carriage return, which
# some read as a cell break before one): such a cell gets a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "time_utc",
    "action",
    "actor",
    "operator_id",
    "address",
    "workspace",
    "target",
    "summary",
    "details",
)


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_rows(filters: Filters) -> Iterator[str]:
    """The filtered events as CSV, a header line and then one line per event, newest first."""
    names = {
        row.id: row.app_id for row in db.session.execute(select(Workspace.id, Workspace.app_id))
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values: tuple[object, ...]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_cell(v) for v in values])
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    for event in all_events(filters):
        yield line(
            (
                event.created_at.astimezone(UTC)
                .isoformat(timespec="seconds")
                .replace("+00:00", "Z"),
                event.action,
                event.actor,
                event.operator_id,
                event.address,
                names.get(event.workspace_id) if event.workspace_id is not None else None,
                event.target,
                describe(event),
                _json(event.details),
            )
        )


def _json(document: Any) -> str:
    return json.dumps(document or {}, ensure_ascii=False, sort_keys=True)
