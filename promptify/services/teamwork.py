"""What operators do in a conversation (docs/operations.md, "The console"): reply, write a
private note, assign, close or reopen, and read. Each write is one transaction; assignments and
status changes leave an event in the thread, saying who and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from promptify.extensions import db
from promptify.models import (
    Activity,
    ActivityKind,
    Author,
    Conversation,
    Message,
    Operator,
    OperatorRead,
    Status,
)
from promptify.services import outbox, transaction
from promptify.services.conversations import add_message, changed_for_widget, check_body
from promptify.services.policy import Policy


class UnknownOperator(LookupError):
    pass


def reply(
    conversation: Conversation,
    operator: Operator,
    body: str,
    *,
    now: datetime,
    policy: Policy | None = None,
) -> Message:
    """An operator's reply (never "verified": that flag is about the visitor's session). Who
    replies has read the conversation. Without a `policy`, no email is queued."""
    check_body(body)
    with transaction.write():
        message = add_message(conversation, Author.AGENT, body, now=now, operator_id=operator.id)
        _mark_read(operator.id, conversation)
        outbox.notify_contact(conversation, message, now=now, policy=policy)
    return message


def add_note(
    conversation: Conversation, operator: Operator, body: str, *, now: datetime
) -> Activity:
    """A private note: shown to operators in the thread, never to the visitor."""
    check_body(body)
    with transaction.write():
        note = _record(conversation, ActivityKind.NOTE, operator, now, body=body)
    return note


def set_status(
    conversation: Conversation, status: Status, *, operator: Operator, now: datetime
) -> None:
    """Close or reopen (a ValueError for anything but a Status value)."""
    status = Status(status)
    with transaction.write():
        if conversation.status != status:
            conversation.status = status
            kind = ActivityKind.CLOSED if status == Status.CLOSED else ActivityKind.REOPENED
            _record(conversation, kind, operator, now)
            changed_for_widget(conversation.contact_id)


def assign(
    conversation: Conversation, assignee_id: int | None, *, operator: Operator, now: datetime
) -> None:
    """Assign to any active operator (operators serve every workspace), or unassign with None;
    `UnknownOperator` for an id that is not an active operator."""
    with transaction.write():
        if assignee_id is not None:
            assignee = db.session.get(Operator, assignee_id)
            if assignee is None or not assignee.active:
                raise UnknownOperator(f"no active operator {assignee_id}")
        if conversation.assignee_id != assignee_id:
            conversation.assignee_id = assignee_id
            kind = ActivityKind.ASSIGNED if assignee_id is not None else ActivityKind.UNASSIGNED
            _record(conversation, kind, operator, now, assignee_id=assignee_id)


def mark_read(operator: Operator, conversation: Conversation) -> bool:
    """The operator has seen every visitor message of the conversation so far; True when that
    moved their read mark (the conversation was unread for them)."""
    if conversation.last_contact_message_id is None:
        return False
    current = db.session.scalar(
        select(OperatorRead.message_id).where(
            OperatorRead.operator_id == operator.id,
            OperatorRead.conversation_id == conversation.id,
        )
    )
    if current is not None and current >= conversation.last_contact_message_id:
        return False  # nothing new: opening a read conversation writes nothing
    with transaction.write():
        _mark_read(operator.id, conversation)
    return True


def _mark_read(operator_id: int, conversation: Conversation) -> None:
    """Upsert the read mark; it only ever moves forward (two tabs may race)."""
    if conversation.last_contact_message_id is None:
        return
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    statement = insert(OperatorRead).values(
        operator_id=operator_id,
        conversation_id=conversation.id,
        message_id=conversation.last_contact_message_id,
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[OperatorRead.operator_id, OperatorRead.conversation_id],
            set_={"message_id": statement.excluded.message_id},
            where=OperatorRead.message_id < statement.excluded.message_id,
        )
    )


def _record(
    conversation: Conversation,
    kind: ActivityKind,
    operator: Operator | None,
    now: datetime,
    *,
    body: str | None = None,
    assignee_id: int | None = None,
) -> Activity:
    activity = Activity(
        conversation_id=conversation.id,
        kind=kind,
        operator_id=operator.id if operator is not None else None,
        assignee_id=assignee_id,
        body=body,
        created_at=now,
    )
    db.session.add(activity)
    db.session.flush()
    return activity
