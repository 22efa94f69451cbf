"""§2.3 conversations: the widget's side (scoped to the session's contact) and the agent's replies.

Every write owns one transaction: it commits at the end or rolls back on any exception. Reads
never write, except `session_contact`, which keeps the session alive (throttled, like identify).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from promptify.extensions import db
from promptify.identity.errors import IdentifyError
from promptify.models import Contact, Conversation, Message, Operator, WidgetSession, Workspace
from promptify.services.sessions import SESSION_HEADER, find_session

PAGE_URL_HEADER = "X-Promptify-Page-Url"
MAX_BODY = 10_000
MAX_PAGE_URL = 2048
PREVIEW_LENGTH = 200
LIST_LIMIT = 50  # newest conversations a widget shows
MESSAGES_LIMIT = 200  # per call; the widget's next poll (`after`) fetches the rest
MAX_ID = 2**31 - 1  # Conversation/Message ids are 32-bit; larger ids cannot exist
STATUSES = ("open", "closed")


@contextmanager
def _transaction() -> Iterator[None]:
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


# --- session and input checks ------------------------------------------------------------


def session_contact(
    workspace: Workspace, token: str | None, *, now: datetime
) -> tuple[WidgetSession, Contact]:
    """The live session for `token` and its contact, or `401 session_required` when there is no
    session, or it is unknown, expired (then deleted) or of another workspace."""
    idle = timedelta(seconds=int(current_app.config["SESSION_IDLE_SECONDS"]))
    throttle = timedelta(seconds=int(current_app.config["LAST_SEEN_THROTTLE_SECONDS"]))
    with _transaction():
        found = find_session(workspace.id, token, now=now, idle=idle)
        session, contact = found if found is not None else (None, None)
        if session is not None and contact is not None:
            # a visitor chatting for a month keeps their session; at most one write a minute
            if now - session.last_used_at >= throttle:
                session.last_used_at = now
            if now - contact.last_seen_at >= throttle:
                contact.last_seen_at = now
    if session is None or contact is None:
        raise IdentifyError(
            "session_required",
            f"Send the session returned by identify in the {SESSION_HEADER} header; "
            "call setUser() (or reset() for an anonymous visitor) first.",
        )
    return session, contact


def body_from(document: dict[str, Any]) -> str:
    """The `body` of a `{"body": "..."}` request, checked (§2.3); other keys are typos → 422."""
    extra = sorted(set(document) - {"body"})
    if extra:
        raise IdentifyError("invalid_field", 'Send {"body": "..."} only.', extra[0])
    return check_body(document.get("body"))


def check_body(body: object) -> str:
    """§2.3: plain text of 1–10,000 characters; NUL is refused (PostgreSQL cannot store it)."""
    if not isinstance(body, str):
        raise IdentifyError("invalid_field", "body must be a string of 1 to 10,000 characters.", "body")
    if not body.strip():
        raise IdentifyError("invalid_field", "body is empty; write a message first.", "body")
    if len(body) > MAX_BODY:
        raise IdentifyError(
            "invalid_field", f"body is {len(body)} characters long; the limit is {MAX_BODY:,}.", "body"
        )
    if "\x00" in body:
        raise IdentifyError("invalid_field", "body contains a NUL character; send plain text.", "body")
    return body


def after_id_from(raw: str | None) -> int | None:
    """The `after` query parameter: absent, or a message id (a non-negative integer)."""
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise IdentifyError("invalid_field", "after must be the id of the last message you have.", "after")
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


def list_for_contact(contact: Contact) -> list[Conversation]:
    """The contact's conversations, newest activity first (one query)."""
    return list(
        db.session.scalars(
            select(Conversation)
            .where(Conversation.contact_id == contact.id)
            .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
            .limit(LIST_LIMIT)
        )
    )


def get_for_contact(contact: Contact, conversation_id: int) -> Conversation:
    """The conversation if it belongs to `contact`; `404 not_found` otherwise, so another
    contact's conversation ids are indistinguishable from ids that do not exist."""
    conversation = db.session.get(Conversation, conversation_id) if 0 < conversation_id <= MAX_ID else None
    if conversation is None or conversation.contact_id != contact.id:
        raise IdentifyError("not_found", "No such conversation for this visitor.")
    return conversation


def messages_after(conversation: Conversation, after_id: int | None = None) -> list[Message]:
    """Oldest first; only those newer than `after_id` when given (what the widget polls)."""
    query = select(Message).where(Message.conversation_id == conversation.id)
    if after_id is not None:
        query = query.where(Message.id > min(after_id, MAX_ID))
    return list(db.session.scalars(query.order_by(Message.id).limit(MESSAGES_LIMIT)))


# --- writes ------------------------------------------------------------------------------


def start(
    workspace: Workspace,
    contact: Contact,
    session: WidgetSession,
    body: str,
    *,
    now: datetime,
    page_url: str | None = None,
) -> tuple[Conversation, Message]:
    """A new open conversation with its first message, from the session's contact."""
    check_body(body)
    if contact.workspace_id != workspace.id or session.contact_id != contact.id:
        raise IdentifyError("not_found", "No such visitor in this workspace.")
    with _transaction():
        conversation = Conversation(
            workspace_id=workspace.id, contact_id=contact.id, status="open", preview="",
            created_at=now, last_message_at=now,
        )
        db.session.add(conversation)
        db.session.flush()
        message = _add_message(conversation, "contact", body, verified=session.verified, now=now)
        record_page_url(contact, page_url)
    return conversation, message


def post_contact_message(
    conversation: Conversation,
    session: WidgetSession,
    body: str,
    *,
    now: datetime,
    page_url: str | None = None,
) -> Message:
    """The contact writes again; a closed conversation reopens, as the visitor expects an answer."""
    check_body(body)
    if session.contact_id != conversation.contact_id:
        raise IdentifyError("not_found", "No such conversation for this visitor.")
    with _transaction():
        message = _add_message(conversation, "contact", body, verified=session.verified, now=now)
        if conversation.status != "open":
            conversation.status = "open"
        contact = db.session.get(Contact, conversation.contact_id)
        if contact is not None:
            record_page_url(contact, page_url)
    return message


def agent_reply(conversation: Conversation, operator: Operator, body: str, *, now: datetime) -> Message:
    """An operator's reply (never "verified": that flag is about the visitor's session)."""
    check_body(body)
    with _transaction():
        message = _add_message(conversation, "agent", body, verified=False, now=now, operator_id=operator.id)
    return message


def set_status(conversation: Conversation, status: str) -> None:
    """Close or reopen."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
    with _transaction():
        if conversation.status != status:
            conversation.status = status


def assign(conversation: Conversation, operator: Operator | None) -> None:
    """Assign to `operator`, or unassign with None."""
    with _transaction():
        wanted = operator.id if operator is not None else None
        if conversation.assignee_id != wanted:
            conversation.assignee_id = wanted


def _add_message(
    conversation: Conversation,
    author: str,
    body: str,
    *,
    verified: bool,
    now: datetime,
    operator_id: int | None = None,
) -> Message:
    message = Message(
        conversation_id=conversation.id, author=author, operator_id=operator_id, body=body,
        verified=verified, created_at=now,
    )
    db.session.add(message)
    conversation.preview = body[:PREVIEW_LENGTH]
    if now >= conversation.last_message_at:
        conversation.last_message_at = now
    db.session.flush()
    return message


# --- JSON shapes (§2.3) ------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, millisecond precision: `2025-01-31T09:15:00.000Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def conversation_json(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "status": conversation.status,
        "lastMessageAt": iso(conversation.last_message_at),
        "preview": conversation.preview,
    }


def message_json(message: Message, *, author_name: str | None) -> dict[str, Any]:
    return {
        "id": message.id,
        "author": message.author,
        "authorName": author_name,
        "body": message.body,
        "createdAt": iso(message.created_at),
        "verified": message.verified,
    }


def messages_json(conversation: Conversation, messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Messages with their author names: the contact's name (or null) for the contact's, the
    operator's name (never their email) for the agents'. At most two queries."""
    contact = db.session.get(Contact, conversation.contact_id)
    contact_name = contact.name if contact is not None else None
    operator_ids = {m.operator_id for m in messages if m.operator_id is not None}
    names = {
        o.id: (o.name or None)
        for o in db.session.scalars(select(Operator).where(Operator.id.in_(operator_ids)))
    } if operator_ids else {}
    return [
        message_json(
            m,
            author_name=contact_name if m.author == "contact" else names.get(m.operator_id or -1),
        )
        for m in messages
    ]
