"""Read models for the inbox: the conversation list and a conversation's thread (a fixed
number of queries per page, whatever the number of rows: no lazy loads in templates)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select

from promptify.extensions import db
from promptify.models import (
    Activity,
    Contact,
    Conversation,
    Message,
    Operator,
    OperatorRead,
    Status,
)
from promptify.services.search import PAGE_SIZE, Cursor, contact_matches

FILTERS = (Status.OPEN, Status.CLOSED, "mine", "all")


UNREAD_CAP = 99  # the navigation says "99+" beyond: counting further costs a scan


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    contact: Contact
    unread: bool  # a visitor message newer than this operator last saw


def _unread():  # type: ignore[no-untyped-def]
    """The condition "unread for this operator" (docs/operations.md, "The console"), over
    `Conversation` outer-joined to that operator's `OperatorRead`."""
    return and_(
        Conversation.last_contact_message_id.is_not(None),
        Conversation.last_contact_message_id > func.coalesce(OperatorRead.message_id, 0),
    )


def _with_read_mark(query: Select, operator_id: int) -> Select:
    return query.outerjoin(
        OperatorRead,
        and_(
            OperatorRead.conversation_id == Conversation.id,
            OperatorRead.operator_id == operator_id,
        ),
    )


def unread_count(workspace_id: int, operator_id: int) -> int:
    """Open conversations unread by this operator, counted up to `UNREAD_CAP` + 1."""
    unread = _with_read_mark(
        select(Conversation.id).where(
            Conversation.workspace_id == workspace_id, Conversation.status == Status.OPEN
        ),
        operator_id,
    ).where(_unread())
    return (
        db.session.scalar(select(func.count()).select_from(unread.limit(UNREAD_CAP + 1).subquery()))
        or 0
    )


def list_conversations(
    workspace_id: int, *, status: str, operator_id: int, q: str = "", before: Cursor | None = None
) -> tuple[list[ConversationRow], Cursor | None]:
    """Newest activity first, keyset-paged; one query."""
    query: Select = _with_read_mark(
        select(Conversation, Contact, _unread())
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.workspace_id == workspace_id),
        operator_id,
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
    rows = [ConversationRow(c, p, bool(u)) for c, p, u in db.session.execute(query)]
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
    activities: list[Activity]  # notes and events
    authors: dict[int, str]  # operator id → display name
    assignee: Operator | None

    @property
    def entries(self) -> list[Message | Activity]:
        """Messages, notes and events in the order they happened."""
        return sorted(
            [*self.messages, *self.activities],
            key=lambda e: (e.created_at, isinstance(e, Activity), e.id),
        )


def get_conversation(workspace_id: int, conversation_id: int) -> Conversation | None:
    conversation = db.session.get(Conversation, conversation_id)
    return (
        conversation
        if conversation is not None and conversation.workspace_id == workspace_id
        else None
    )


def thread(
    conversation: Conversation,
    *,
    after_id: int | None = None,
    after_activity_id: int | None = None,
) -> ThreadView:
    """The thread, or only what came after the given message and activity ids (polling)."""
    contact = db.session.get(Contact, conversation.contact_id)
    assert contact is not None
    query = select(Message).where(Message.conversation_id == conversation.id)
    if after_id is not None:
        query = query.where(Message.id > after_id)
    messages = list(db.session.scalars(query.order_by(Message.id)))
    activity_query = select(Activity).where(Activity.conversation_id == conversation.id)
    if after_activity_id is not None:
        activity_query = activity_query.where(Activity.id > after_activity_id)
    activities = list(db.session.scalars(activity_query.order_by(Activity.id)))
    operator_ids = (
        {m.operator_id for m in messages if m.operator_id}
        | {a.operator_id for a in activities if a.operator_id}
        | {a.assignee_id for a in activities if a.assignee_id}
        | ({conversation.assignee_id} if conversation.assignee_id else set())
    )
    operators = (
        {o.id: o for o in db.session.scalars(select(Operator).where(Operator.id.in_(operator_ids)))}
        if operator_ids
        else {}
    )
    authors = {i: (o.name or o.email) for i, o in operators.items()}
    return ThreadView(
        conversation,
        contact,
        messages,
        activities,
        authors,
        operators.get(conversation.assignee_id or -1),
    )
