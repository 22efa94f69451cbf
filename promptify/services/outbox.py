"""Notification emails: queued with the message that calls for them, claimed by senders
(docs/operations.md, "Email notifications").

Queueing runs inside the message's own write transaction, so an email exists exactly when its
message does. A burst is the messages that arrive while a recipient's email about a conversation
waits for its time: they share one row (its unique `burst_key`). When the row is due, a sender
checks again whether the messages are still unread and the recipient still qualifies.

Claiming is a short write transaction of its own. On PostgreSQL the due rows are locked `FOR
UPDATE SKIP LOCKED`, so concurrent senders take different rows without waiting; on SQLite the
write transaction (`BEGIN IMMEDIATE`) serializes them. A claimed row carries the sender's token
and a lease (`claimed_until`): nobody else takes it before the lease ends, and the outcome is
recorded only by the token's holder.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from promptify.extensions import db
from promptify.models import (
    Author,
    Contact,
    Conversation,
    EmailOutbox,
    Message,
    Operator,
    OperatorRead,
    OutboxState,
    Recipient,
    Workspace,
)
from promptify.services import transaction
from promptify.services.policy import Policy

BATCH = 20  # rows per claim
LEASE = timedelta(minutes=10)  # far longer than a batch takes to send (30 s SMTP timeout)
FIRST_RETRY = timedelta(minutes=1)  # then doubling ...
LONGEST_RETRY = timedelta(hours=1)  # ... up to this
MAX_ATTEMPTS = 12  # about 6 hours of retrying, then the row is given up (`failed`)
QUOTED = 5  # newest messages quoted in an email
QUOTE_LENGTH = 1000
ERROR_LENGTH = 500


@dataclass(frozen=True)
class Quote:
    author: str
    body: str


@dataclass(frozen=True)
class Notice:
    """A claimed email, with everything its text needs (read inside the claim)."""

    outbox_id: int
    queued_at: datetime
    claim_token: str
    attempts: int  # before this one
    recipient: Recipient
    to: str
    workspace: str
    conversation_id: int
    contact: str  # who wrote, for an operator
    quotes: tuple[Quote, ...]  # oldest first
    unquoted: int  # older unread messages left out


@dataclass(frozen=True)
class Claim:
    notices: list[Notice]
    looked_at: int  # due rows examined: none means nothing is due
    skipped: int  # read in time, or the recipient no longer qualifies: deleted unsent


# --- queueing (inside the message's transaction) -------------------------------------------


def notify_team(
    conversation: Conversation, message: Message, *, now: datetime, policy: Policy
) -> None:
    """A visitor message: an email to the conversation's assignee, or to every active operator
    while nobody is in charge, unless their email about this conversation is already waiting."""
    if policy.notify_after is None:
        return
    operators = select(Operator.id).where(
        Operator.active.is_(True), Operator.notify_email.is_(True)
    )
    in_charge = _assignee_in_charge(conversation)
    if in_charge is not None:
        operators = operators.where(Operator.id == in_charge)
    _queue(
        [
            _row(conversation, message, Recipient.OPERATOR, operator_id, now, policy.notify_after)
            for operator_id in db.session.scalars(operators)
        ]
    )


def notify_contact(
    conversation: Conversation, message: Message, *, now: datetime, policy: Policy | None
) -> None:
    """An agent reply: an email to the visitor, only at an address a signed token gave."""
    if policy is None or policy.notify_after is None:
        return
    contact = db.session.get(Contact, conversation.contact_id)
    if contact is not None and may_email(contact):
        _queue([_row(conversation, message, Recipient.CONTACT, None, now, policy.notify_after)])


def may_email(contact: Contact) -> bool:
    """A typed or unsigned email may belong to someone else: it is never written to."""
    return contact.verified and contact.email_verified and bool(contact.email)


def _assignee_in_charge(conversation: Conversation) -> int | None:
    """The assignee, unless deactivated: then the conversation is everybody's again."""
    if conversation.assignee_id is None:
        return None
    assignee = db.session.get(Operator, conversation.assignee_id)
    return assignee.id if assignee is not None and assignee.active else None


def _row(
    conversation: Conversation,
    message: Message,
    recipient: Recipient,
    operator_id: int | None,
    now: datetime,
    delay: timedelta,
) -> dict[str, Any]:
    key = f"{recipient}:{conversation.id}" + (f":{operator_id}" if operator_id else "")
    return {
        "conversation_id": conversation.id,
        "recipient": recipient,
        "operator_id": operator_id,
        "burst_key": key,
        "first_message_id": message.id,
        "state": OutboxState.PENDING,
        "created_at": now,
        "next_attempt_at": now + delay,
    }


def _queue(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    statement = insert(EmailOutbox).values(rows)
    db.session.execute(statement.on_conflict_do_nothing(index_elements=[EmailOutbox.burst_key]))


# --- claiming and recording ------------------------------------------------------------------


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return and_(
        EmailOutbox.state == OutboxState.PENDING,
        EmailOutbox.next_attempt_at <= now,
        or_(EmailOutbox.claimed_until.is_(None), EmailOutbox.claimed_until <= now),
    )


def claim_due(*, now: datetime, policy: Policy, limit: int = BATCH) -> Claim:
    """Take up to `limit` due rows for this caller: each is deleted (read in time, recipient no
    longer qualifies), postponed (its oldest unread message is younger than the delay), or
    returned as a `Notice` under a lease."""
    if policy.notify_after is None:
        return Claim([], 0, 0)
    if db.session.scalar(select(EmailOutbox.id).where(_due(now)).limit(1)) is None:
        return Claim([], 0, 0)  # the common case, read without taking SQLite's write lock
    token = secrets.token_hex(16)
    notices: list[Notice] = []
    skipped = 0
    with transaction.write():
        rows = db.session.scalars(
            select(EmailOutbox)
            .where(_due(now))
            .order_by(EmailOutbox.next_attempt_at, EmailOutbox.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            outcome = _examine(row, now=now, delay=policy.notify_after)
            if outcome is None:
                db.session.delete(row)
                skipped += 1
            elif isinstance(outcome, datetime):
                row.next_attempt_at = outcome
            else:
                row.claim_token, row.claimed_until = token, now + LEASE
                row.burst_key = None  # later messages open the next burst
                notices.append(_notice(row, token, *outcome))
    return Claim(notices, len(rows), skipped)


def _examine(
    row: EmailOutbox, *, now: datetime, delay: timedelta
) -> tuple[str, list[Message]] | datetime | None:
    """(address, unread messages of the burst) to send now, a later time to look again, or None
    when nothing is to be sent."""
    conversation = db.session.get(Conversation, row.conversation_id)
    if conversation is None:
        return None
    if row.recipient == Recipient.OPERATOR:
        operator = db.session.get(Operator, row.operator_id)
        if operator is None or not operator.active or not operator.notify_email:
            return None
        if _assignee_in_charge(conversation) not in (None, operator.id):
            return None
        read_up_to = db.session.scalar(
            select(OperatorRead.message_id).where(
                OperatorRead.operator_id == operator.id,
                OperatorRead.conversation_id == conversation.id,
            )
        )
        address, author, seen = operator.email, Author.CONTACT, read_up_to or 0
    else:
        contact = db.session.get(Contact, conversation.contact_id)
        if contact is None or not may_email(contact):
            return None
        address, author, seen = (
            contact.email or "",
            Author.AGENT,
            conversation.contact_read_message_id,
        )
    unread = select(Message).where(
        Message.conversation_id == conversation.id,
        Message.author == author,
        Message.id > max(seen, row.first_message_id - 1),
    )
    if row.last_message_id is not None:  # a retry: the burst is closed
        unread = unread.where(Message.id <= row.last_message_id)
    messages = list(db.session.scalars(unread.order_by(Message.id)))
    if not messages:
        return None
    if row.last_message_id is None:
        due = messages[0].created_at + delay
        if due > now:
            return due
        row.last_message_id = messages[-1].id
    return address, messages


def _notice(row: EmailOutbox, token: str, address: str, messages: list[Message]) -> Notice:
    conversation = db.session.get(Conversation, row.conversation_id)
    assert conversation is not None  # checked by _examine in the same transaction
    workspace = db.session.get(Workspace, conversation.workspace_id)
    contact = db.session.get(Contact, conversation.contact_id)
    quoted = messages[-QUOTED:]
    operator_ids = {m.operator_id for m in quoted if m.operator_id is not None}
    names = {
        id_: name
        for id_, name in db.session.execute(
            select(Operator.id, Operator.name).where(Operator.id.in_(operator_ids))
        )
    }
    workspace_name = workspace.name if workspace is not None else "Promptify"
    contact_name = _contact_label(contact)
    return Notice(
        outbox_id=row.id,
        queued_at=row.created_at,
        claim_token=token,
        attempts=row.attempts,
        recipient=Recipient(row.recipient),
        to=address,
        workspace=workspace_name,
        conversation_id=row.conversation_id,
        contact=contact_name,
        quotes=tuple(
            Quote(
                contact_name
                if m.author == Author.CONTACT
                else names.get(m.operator_id or 0) or workspace_name,
                m.body[:QUOTE_LENGTH] + ("…" if len(m.body) > QUOTE_LENGTH else ""),
            )
            for m in quoted
        ),
        unquoted=len(messages) - len(quoted),
    )


def _contact_label(contact: Contact | None) -> str:
    if contact is None:
        return "A visitor"
    return contact.name or contact.email or contact.external_id or "A visitor"


def record_sent(notice: Notice, *, now: datetime) -> None:
    _finish(
        notice,
        state=OutboxState.SENT,
        sent_to=notice.to,
        sent_at=now,
        last_error=None,
    )


def record_failure(notice: Notice, error: str, *, now: datetime, permanent: bool = False) -> bool:
    """A failed attempt: retried after a backoff that doubles each time, or given up after the
    last attempt (or at once when `permanent`). True when it will be retried."""
    attempts = notice.attempts + 1
    retry = not permanent and attempts < MAX_ATTEMPTS
    _finish(
        notice,
        state=OutboxState.PENDING if retry else OutboxState.FAILED,
        next_attempt_at=now + backoff(attempts),
        last_error=error[:ERROR_LENGTH],
    )
    return retry


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 1, 2, 4 ... minutes, at most an hour."""
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 16), LONGEST_RETRY)


def _finish(notice: Notice, **values: Any) -> None:
    """Record an attempt's outcome, only while this caller still holds the row's lease."""
    with transaction.write():
        db.session.execute(
            update(EmailOutbox)
            .where(
                EmailOutbox.id == notice.outbox_id, EmailOutbox.claim_token == notice.claim_token
            )
            .values(
                attempts=EmailOutbox.attempts + 1,
                claim_token=None,
                claimed_until=None,
                **values,
            )
            .execution_options(synchronize_session=False)
        )
