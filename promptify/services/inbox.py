"""Read models for the inbox: the conversation list and a conversation's thread (a fixed
number of queries per page, whatever the number of rows: no lazy loads in templates)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, or_, select

from promptify.extensions import db
from promptify.models import Contact, Conversation, Message, Operator, Status
from promptify.services.search import PAGE_SIZE, Cursor, contact_matches

FILTERS = (Status.OPEN, Status.CLOSED, "mine", "all")


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    contact: Contact


def list_conversations(
    workspace_id: int, *, status: str, operator_id: int, q: str = "", before: Cursor | None = None
) -> tuple[list[ConversationRow], Cursor | None]:
    """Newest activity first, keyset-paged; one query."""
    query: Select = (
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.workspace_id == workspace_id)
    )
    if status in (Status.OPEN, Status.CLOSED):
        query = query.where(Conversation.status == status)
    elif status == "mine":
        query = query.where(
            Conversation.assignee_id == operator_id, Conversation.status == Status.OPEN
        )
    if q.strip():
        query = query.where(contact_matches(workspace_id, q))
    if before is not None:
        query = query.where(
            Conversation.last_message_at
            <= before.at,  # index bound: PostgreSQL won't derive it from the OR
            or_(
                Conversation.last_message_at < before.at,
                and_(Conversation.last_message_at == before.at, Conversation.id < before.id),
            ),
        )
    query = query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(
        PAGE_SIZE + 1
    )
    rows = [ConversationRow(c, p) for c, p in db.session.execute(query)]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    cursor = (
        Cursor(rows[-1].conversation.last_message_at, rows[-1].conversation.id)
        if more and rows
        else None
    )
    return rows, cursor


@dataclass(frozen=True)
class ThreadView:
    conversation: Conversation
    contact: Contact
    messages: list[Message]
    authors: dict[int, str]  # operator id → display name
    assignee: Operator | None


def get_conversation(workspace_id: int, conversation_id: int) -> Conversation | None:
    conversation = db.session.get(Conversation, conversation_id)
    return (
        conversation
        if conversation is not None and conversation.workspace_id == workspace_id
        else None
    )


def thread(conversation: Conversation, *, after_id: int | None = None) -> ThreadView:
    contact = db.session.get(Contact, conversation.contact_id)
    assert contact is not None
    query = select(Message).where(Message.conversation_id == conversation.id)
    if after_id is not None:
        query = query.where(Message.id > after_id)
    messages = list(db.session.scalars(query.order_by(Message.id)))
    operator_ids = {m.operator_id for m in messages if m.operator_id} | (
        {conversation.assignee_id} if conversation.assignee_id else set()
    )
    operators = (
        {o.id: o for o in db.session.scalars(select(Operator).where(Operator.id.in_(operator_ids)))}
        if operator_ids
        else {}
    )
    authors = {i: (o.name or o.email) for i, o in operators.items()}
    return ThreadView(
        conversation, contact, messages, authors, operators.get(conversation.assignee_id or -1)
    )
