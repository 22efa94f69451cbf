"""Conversations: the widget's side (scoped to the session's contact) and the agent's replies.

The widget's side is docs/widget-api.md, "Conversations".

Every write owns one transaction (`transaction.write()`): it commits at the end or rolls back on
any exception. Reads never write, except `session_contact`, which keeps the session alive
(throttled, like identify).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from promptify.extensions import WRITE_TRANSACTION, db
from promptify.identity.errors import ApiError
from promptify.models import (
    Activity,
    ActivityKind,
    Author,
    Contact,
    Conversation,
    Message,
    Operator,
    Status,
    WidgetSession,
    Workspace,
)
from promptify.services import outbox, transaction
from promptify.services.policy import Policy
from promptify.services.sessions import SESSION_HEADER, FoundSession, find_session

PAGE_URL_HEADER = "X-Promptify-Page-Url"
MAX_BODY = 10_000
MAX_PAGE_URL = 2048
PREVIEW_LENGTH = 200
LIST_LIMIT = 50  # newest conversations a widget shows
MESSAGES_LIMIT = 200  # per call; the widget's next poll (`after`) fetches the rest
MAX_ID = 2**31 - 1  # Conversation/Message ids are 32-bit; larger ids cannot exist


# --- session and input checks ------------------------------------------------------------


def _live_session(
    workspace: Workspace, token: str | None, *, now: datetime, policy: Policy, lock: bool
) -> FoundSession:
    """The live session for `token`, or `401 session_required` (none, unknown, idle too long, of
    another workspace, or deleted by a merge) / `401 session_expired` (lapsed or ended)."""
    found = find_session(workspace, token, now=now, policy=policy, lock=lock)
    if found is None:
        raise ApiError(
            "session_required",
            f"Send the session returned by identify in the {SESSION_HEADER} header; "
            "call setUser() (or reset() for an anonymous visitor) first.",
        )
    if not found.live:
        raise ApiError(
            "session_expired",
            "This session's identification has lapsed or was ended (signing key revoked, user "
            "verified elsewhere, or signed identification now required); call setUser({jwt}) "
            "with a fresh token, or register promptify.setTokenProvider() to do it automatically.",
        )
    return found


def session_contact(
    workspace: Workspace, token: str | None, *, now: datetime, policy: Policy
) -> tuple[WidgetSession, Contact]:
    """For reads: the live session and its contact. A visitor chatting for a month keeps their
    session: its last use is recorded at most once a minute."""
    found = _live_session(workspace, token, now=now, policy=policy, lock=False)
    throttle = policy.last_seen_throttle
    if now - found.session.last_used_at >= throttle or now - found.contact.last_seen_at >= throttle:
        _note_use(found.session.id, found.contact.id, now)
    return found.session, found.contact


def _note_use(session_id: int, contact_id: int, now: datetime) -> None:
    """A short write of its own, on its own connection: committing the request's session would
    expire the rows this request goes on reading, and a merge may delete them meanwhile (then
    these updates match nothing, and the request's next write answers `session_required`)."""
    with (
        db.engine.connect().execution_options(**{WRITE_TRANSACTION: True}) as connection,
        connection.begin(),
    ):
        connection.execute(
            update(WidgetSession).where(WidgetSession.id == session_id).values(last_used_at=now)
        )
        connection.execute(update(Contact).where(Contact.id == contact_id).values(last_seen_at=now))


def body_from(document: dict[str, Any]) -> str:
    """The `body` of a `{"body": "..."}` request, checked; other keys are typos → 422."""
    extra = sorted(set(document) - {"body"})
    if extra:
        raise ApiError("invalid_field", 'Send {"body": "..."} only.', extra[0])
    return check_body(document.get("body"))


def check_body(body: object) -> str:
    """Plain text of 1–10,000 characters; NUL is refused (PostgreSQL cannot store it)."""
    if not isinstance(body, str):
        raise ApiError("invalid_field", "body must be a string of 1 to 10,000 characters.", "body")
    if not body.strip():
        raise ApiError("invalid_field", "body is empty; write a message first.", "body")
    if len(body) > MAX_BODY:
        raise ApiError(
            "invalid_field",
            f"body is {len(body)} characters long; the limit is {MAX_BODY:,}.",
            "body",
        )
    if "\x00" in body:
        raise ApiError("invalid_field", "body contains a NUL character; send plain text.", "body")
    return body


def after_id_from(raw: str | None) -> int | None:
    """The `after` query parameter: absent, or a message id (a non-negative integer)."""
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ApiError(
            "invalid_field", "after must be the id of the last message you have.", "after"
        )
    return int(raw)


def clean_page_url(raw: str | None) -> str | None:
    """The page URL the widget reports, or None when it is not a plain http(s) URL ≤ 2048 chars
    (then it is ignored, never an error: a bad header must not lose a message)."""
    if not raw or len(raw) > MAX_PAGE_URL or not raw.isascii() or not raw.isprintable():
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return raw


def record_page_url(contact: Contact, page_url: str | None) -> None:
    """Store the last page only when it changed, so a repeated call writes nothing."""
    if page_url is not None and contact.last_page_url != page_url:
        contact.last_page_url = page_url


# --- reads -------------------------------------------------------------------------------


def list_for_contact(contact: Contact) -> list[tuple[Conversation, int]]:
    """The contact's conversations, newest activity first, each with the number of agent
    messages the contact has not read (one query)."""
    unread = (
        select(func.count())
        .where(
            Message.conversation_id == Conversation.id,
            Message.author == Author.AGENT,
            Message.id > Conversation.contact_read_message_id,
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Conversation, unread)
        .where(Conversation.contact_id == contact.id)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(LIST_LIMIT)
    )
    return [(conversation, int(count)) for conversation, count in rows]


def list_etag(contact: Contact) -> str:
    """Changes whenever the contact's list would (`changed_for_widget`); what the widget polls
    with `If-None-Match`, answered from the session lookup alone."""
    return f"c{contact.id}v{contact.widget_version}"


def get_for_contact(contact: Contact, conversation_id: int) -> Conversation:
    """The conversation if it belongs to `contact`; `404 not_found` otherwise, so another
    contact's conversation ids are indistinguishable from ids that do not exist."""
    conversation = (
        db.session.get(Conversation, conversation_id) if 0 < conversation_id <= MAX_ID else None
    )
    if conversation is None or conversation.contact_id != contact.id:
        raise ApiError("not_found", "No such conversation for this visitor.")
    return conversation


def messages_after(conversation: Conversation, after_id: int | None = None) -> list[Message]:
    """Oldest first; only those newer than `after_id` when given (what the widget polls)."""
    query = select(Message).where(Message.conversation_id == conversation.id)
    if after_id is not None:
        query = query.where(Message.id > min(after_id, MAX_ID))
    return list(db.session.scalars(query.order_by(Message.id).limit(MESSAGES_LIMIT)))


# --- writes ------------------------------------------------------------------------------


def mark_read_by_contact(
    workspace: Workspace,
    token: str | None,
    conversation_id: int,
    last_message_id: int,
    *,
    now: datetime,
    policy: Policy,
) -> None:
    """The visitor has seen the conversation's messages up to `last_message_id`: agent messages
    up to there stop counting as unread. The mark never moves back; a repeated call writes
    nothing."""

    def work() -> None:
        found = _live_session(workspace, token, now=now, policy=policy, lock=True)
        conversation = get_for_contact(found.contact, conversation_id)
        newest = db.session.scalar(
            select(func.max(Message.id)).where(Message.conversation_id == conversation.id)
        )
        mark = min(last_message_id, newest or 0)
        if mark > conversation.contact_read_message_id:
            conversation.contact_read_message_id = mark
            changed_for_widget(found.contact.id)

    transaction.write_with_retry(work)


def last_message_id_from(document: dict[str, Any]) -> int:
    """The `lastMessageId` of a `{"lastMessageId": N}` request, checked; other keys → 422."""
    extra = sorted(set(document) - {"lastMessageId"})
    if extra:
        raise ApiError("invalid_field", "Send {lastMessageId} alone.", extra[0])
    value = document.get("lastMessageId")
    if type(value) is not int or not 0 < value <= MAX_ID:
        raise ApiError(
            "invalid_field",
            f"lastMessageId must be the id of a message you were shown (1 to {MAX_ID}).",
            "lastMessageId",
        )
    return value


def start(
    workspace: Workspace,
    token: str | None,
    body: str,
    *,
    now: datetime,
    policy: Policy,
    page_url: str | None = None,
) -> tuple[Conversation, Message]:
    """A new open conversation with its first message, from the session's contact. The session
    is re-read and its contact locked inside the write, so this either lands before a merge of
    an anonymous visitor (and moves over with it) or finds the session gone
    (docs/security.md, "Concurrency guarantees")."""
    check_body(body)

    def work() -> tuple[Conversation, Message]:
        found = _live_session(workspace, token, now=now, policy=policy, lock=True)
        _within_quota(found.contact, now=now, policy=policy, starting=True)
        conversation = Conversation(
            workspace_id=workspace.id,
            contact_id=found.contact.id,
            status=Status.OPEN,
            preview="",
            created_at=now,
            last_message_at=now,
        )
        db.session.add(conversation)
        db.session.flush()
        message = _add_contact_message(conversation, found.session, body, now=now, policy=policy)
        record_page_url(found.contact, page_url)
        return conversation, message

    return transaction.write_with_retry(work)


def _within_quota(contact: Contact, *, now: datetime, policy: Policy, starting: bool) -> None:
    """At most `conversations_per_hour` new conversations and `messages_per_hour` messages per
    visitor (the session's contact, locked by the caller, so two tabs cannot both slip under),
    or `429 rate_limited` (docs/widget-api.md, "Rate limits")."""
    since = now - timedelta(hours=1)
    if starting:
        started = db.session.scalar(
            select(func.count()).where(
                Conversation.contact_id == contact.id, Conversation.created_at > since
            )
        )
        if (started or 0) >= policy.conversations_per_hour:
            raise ApiError(
                "rate_limited",
                f"This visitor started {policy.conversations_per_hour} conversations in the last "
                "hour; write in an existing one, or try again later.",
            )
    written = db.session.scalar(
        select(func.count())
        .select_from(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.contact_id == contact.id,
            Message.author == Author.CONTACT,
            Message.created_at > since,
        )
    )
    if (written or 0) >= policy.messages_per_hour:
        raise ApiError(
            "rate_limited",
            f"This visitor wrote {policy.messages_per_hour} messages in the last hour; try again "
            "later.",
        )


def post_contact_message(
    workspace: Workspace,
    token: str | None,
    conversation_id: int,
    body: str,
    *,
    now: datetime,
    policy: Policy,
    page_url: str | None = None,
) -> tuple[Conversation, Message]:
    """The contact writes again; a closed conversation reopens, as the visitor expects an answer."""
    check_body(body)

    def work() -> tuple[Conversation, Message]:
        found = _live_session(workspace, token, now=now, policy=policy, lock=True)
        conversation = get_for_contact(found.contact, conversation_id)
        _within_quota(found.contact, now=now, policy=policy, starting=False)
        message = _add_contact_message(conversation, found.session, body, now=now, policy=policy)
        if conversation.status != Status.OPEN:
            conversation.status = Status.OPEN  # the visitor expects an answer
            db.session.add(
                Activity(
                    conversation_id=conversation.id, kind=ActivityKind.REOPENED, created_at=now
                )
            )
        record_page_url(found.contact, page_url)
        return conversation, message

    return transaction.write_with_retry(work)


def _add_contact_message(
    conversation: Conversation, session: WidgetSession, body: str, *, now: datetime, policy: Policy
) -> Message:
    """The message records whether its session was verified, and by which key (provenance)."""
    verified_key = session.verified_key if session.verified_until is not None else None
    message = add_message(conversation, Author.CONTACT, body, now=now, verified_key=verified_key)
    outbox.notify_team(conversation, message, now=now, policy=policy)
    return message


def add_message(
    conversation: Conversation,
    author: str,
    body: str,
    *,
    now: datetime,
    operator_id: int | None = None,
    verified_key: str | None = None,
) -> Message:
    message = Message(
        conversation_id=conversation.id,
        author=author,
        operator_id=operator_id,
        body=body,
        verified=verified_key is not None,
        verified_key=verified_key,
        created_at=now,
    )
    db.session.add(message)
    conversation.preview = body[:PREVIEW_LENGTH]
    conversation.last_author = author
    if now >= conversation.last_message_at:
        conversation.last_message_at = now
    db.session.flush()
    if author == Author.CONTACT:
        conversation.last_contact_message_id = message.id
    changed_for_widget(conversation.contact_id)
    return message


def changed_for_widget(contact_id: int) -> None:
    """Raise the contact's list version, so the widget's next poll gets the new list instead of
    `304 Not Modified` (docs/widget-api.md, "Conversations")."""
    db.session.execute(
        update(Contact)
        .where(Contact.id == contact_id)
        .values(widget_version=Contact.widget_version + 1)
        .execution_options(synchronize_session=False)
    )


# --- reads for the widget's answers ----------------------------------------------------------


def with_author_names(
    conversation: Conversation, messages: Sequence[Message]
) -> list[tuple[Message, str | None]]:
    """Each message with its author's name: the contact's name (or None) for the contact's, the
    operator's name (never their email) for the agents'. At most two queries."""
    contact = db.session.get(Contact, conversation.contact_id)
    contact_name = contact.name if contact is not None else None
    operator_ids = {m.operator_id for m in messages if m.operator_id is not None}
    names = (
        {
            o.id: (o.name or None)
            for o in db.session.scalars(select(Operator).where(Operator.id.in_(operator_ids)))
        }
        if operator_ids
        else {}
    )
    return [
        (m, contact_name if m.author == Author.CONTACT else names.get(m.operator_id or -1))
        for m in messages
    ]
