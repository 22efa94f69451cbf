"""Read models for the inbox: the conversation list and a conversation's thread (a fixed
number of queries per page, whatever the number of rows: no lazy loads in templates)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from promptify.extensions import db
from promptify.models import (
    Activity,
    Author,
    Contact,
    Conversation,
    Message,
    Operator,
    OperatorRead,
    Status,
)
from promptify.services.search import PAGE_SIZE, Cursor, contact_matches, search_terms

FILTERS = (Status.OPEN, Status.CLOSED, "mine", "all")


UNREAD_CAP = 99  # the navigation says "99+" beyond: counting further costs a scan


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    contact: Contact
    unread: bool  # a visitor message newer than this operator last saw
    # who wrote the last agent message, when an agent spoke last (the preview says "You:"/name)
    last_agent_id: int | None = None
    last_agent_name: str | None = None


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


def _last_agent():  # type: ignore[no-untyped-def]
    """The author of the conversation's last agent message, as two correlated columns (id and
    name), null unless an agent spoke last. Read through the (conversation_id, id) index."""
    agent_id = (
        select(Message.operator_id)
        .where(Message.conversation_id == Conversation.id, Message.author == Author.AGENT)
        .order_by(Message.id.desc())
        .limit(1)
        .correlate(Conversation)
        .scalar_subquery()
    )
    spoke_last = Conversation.last_author == Author.AGENT
    name = (
        select(func.coalesce(func.nullif(Operator.name, ""), Operator.email))
        .where(Operator.id == agent_id)
        .correlate(Conversation)
        .scalar_subquery()
    )
    return (
        case((spoke_last, agent_id), else_=None),
        case((spoke_last, name), else_=None),
    )


def list_conversations(
    workspace_id: int, *, status: str, operator_id: int, q: str = "", before: Cursor | None = None
) -> tuple[list[ConversationRow], Cursor | None]:
    """Newest activity first, keyset-paged; one query."""
    query: Select = _with_read_mark(
        select(Conversation, Contact, _unread(), *_last_agent())
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
    if search_terms(q):
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
    rows = [
        ConversationRow(c, p, bool(u), agent_id, agent_name)
        for c, p, u, agent_id, agent_name in db.session.execute(query)
    ]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    cursor = (
        Cursor(rows[-1].conversation.last_message_at, rows[-1].conversation.id)
        if more and rows
        else None
    )
    return rows, cursor


THREAD_LIMIT = 50  # messages a thread shows at once; "Load earlier messages" pages back


@dataclass(frozen=True)
class ThreadView:
    """A window of a conversation's thread: at most `THREAD_LIMIT` messages, with the notes and
    events that happened among them."""

    conversation: Conversation
    contact: Contact
    messages: list[Message]
    activities: list[Activity]  # notes and events
    authors: dict[int, str]  # operator id → display name
    assignee: Operator | None
    # "Load earlier messages" asks for the messages before this id (the first one shown); None
    # when the window starts at the conversation's first message
    earlier: int | None = None
    # messages after the window exist: a page before the latest, or a poll answer cut at the limit
    later: bool = False
    after: int = 0  # the newest message id the window accounts for: where a poller goes on
    after_activity: int = 0  # the same for notes and events

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


def workspace_id_of(conversation_id: int) -> int | None:
    """The workspace a conversation belongs to (a link from an email may name any)."""
    return db.session.scalar(
        select(Conversation.workspace_id).where(Conversation.id == conversation_id)
    )


def thread(
    conversation: Conversation,
    *,
    after_id: int | None = None,
    after_activity_id: int | None = None,
    before_id: int | None = None,
    limit: int = THREAD_LIMIT,
) -> ThreadView:
    """A window of at most `limit` messages (keyset by message id), with the notes and events
    that sort among them, so that consecutive windows neither repeat nor skip any:

    - by default the latest messages: the thread as it opens;
    - with `before_id`, the messages before that id: the page "Load earlier messages" adds;
    - with `after_id` and `after_activity_id` (polling), what came after those ids, oldest
      first; an answer cut at `limit` leaves the notes and events after its last message to the
      next poll.

    A fixed number of queries, however long the conversation."""
    limit = max(limit, 1)
    contact = db.session.get(Contact, conversation.contact_id)
    assert contact is not None
    in_conversation = Message.conversation_id == conversation.id
    message_query = select(Message).where(in_conversation)
    activity_query = select(Activity).where(Activity.conversation_id == conversation.id)
    earlier, later, activities_before = None, False, 0
    if after_id is not None or after_activity_id is not None:
        if after_id is not None:
            message_query = message_query.where(Message.id > after_id)
        if after_activity_id is not None:
            activity_query = activity_query.where(Activity.id > after_activity_id)
        messages = list(db.session.scalars(message_query.order_by(Message.id).limit(limit + 1)))
        if len(messages) > limit:
            later = True
            # an activity sorts after a message of the same instant: it waits with that message
            activity_query = activity_query.where(Activity.created_at < messages[limit].created_at)
            messages = messages[:limit]
        activities_before = after_activity_id or 0
    else:
        if before_id is not None:
            message_query = message_query.where(Message.id < before_id)
            following = db.session.scalar(
                select(Message.created_at)
                .where(in_conversation, Message.id >= before_id)
                .order_by(Message.id)
                .limit(1)
            )
            if following is not None:  # the window ends where the later one starts
                later = True
                activity_query = activity_query.where(Activity.created_at < following)
        newest = list(
            db.session.scalars(message_query.order_by(Message.id.desc()).limit(limit + 1))
        )
        messages = newest[:limit][::-1]
        if len(newest) > limit:
            earlier = messages[0].id
            start = messages[0].created_at
            activity_query = activity_query.where(Activity.created_at >= start)
            if not later:  # the earlier ones are the earlier pages': the poller goes on after them
                activities_before = (
                    db.session.scalar(
                        select(func.max(Activity.id)).where(
                            Activity.conversation_id == conversation.id,
                            Activity.created_at < start,
                        )
                    )
                    or 0
                )
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
        earlier=earlier,
        later=later,
        after=messages[-1].id if messages else (after_id or 0),
        after_activity=max([activities_before, *(a.id for a in activities)]),
    )


# --- attention: what the console polls for its unread count and desktop notifications --------


def unread_label(count: int) -> str:
    """The count as the navigation and the tab title show it: "99+" beyond `UNREAD_CAP`."""
    return f"{UNREAD_CAP}+" if count > UNREAD_CAP else str(count)


def assignable_operators() -> list[Operator]:
    """Whom a conversation can be assigned to: every active operator (operators serve every
    workspace), by display name."""
    return list(
        db.session.scalars(
            select(Operator)
            .where(Operator.active.is_(True))
            .order_by(func.lower(func.coalesce(func.nullif(Operator.name, ""), Operator.email)))
            .order_by(Operator.id)
        )
    )


@dataclass(frozen=True)
class Arrival:
    """The newest visitor message since the console's cursor."""

    message: Message
    conversation: Conversation
    contact: Contact
    new_conversation: bool  # the conversation's first message: a new conversation
    others: int  # how many more visitor messages arrived since the cursor


@dataclass(frozen=True)
class Attention:
    unread: int  # open conversations unread by the operator, up to UNREAD_CAP + 1
    cursor: int  # what the next poll passes as `after`
    arrival: Arrival | None


def attention(workspace_id: int, operator_id: int, *, after: int | None) -> Attention:
    """The unread count and, since the `after` cursor, the newest visitor message of the
    workspace that this operator has not read yet (two or three queries).

    The cursor is the installation's newest message id: a poll looks at the messages between
    the previous cursor and the new one, so each poll reads only what is new, however busy the
    other workspaces are. Without `after` (a page's first poll) there is no arrival: a console
    that has just opened notifies of nothing old."""
    unread = unread_count(workspace_id, operator_id)
    high = db.session.scalar(select(func.max(Message.id))) or 0
    if after is None or after >= high:
        return Attention(unread, high, None)  # also when ids went back (a restored database)
    earlier = aliased(Message)
    row = db.session.execute(
        _with_read_mark(
            select(
                Message,
                Conversation,
                Contact,
                ~exists().where(
                    earlier.conversation_id == Message.conversation_id, earlier.id < Message.id
                ),
                func.count().over(),
            )
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Contact, Contact.id == Conversation.contact_id),
            operator_id,
        )
        .where(
            Message.id > after,
            Message.id <= high,
            Message.author == Author.CONTACT,
            Conversation.workspace_id == workspace_id,
            Message.id > func.coalesce(OperatorRead.message_id, 0),
        )
        .order_by(Message.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return Attention(unread, high, None)
    message, conversation, contact, first, total = row
    return Attention(unread, high, Arrival(message, conversation, contact, bool(first), total - 1))
