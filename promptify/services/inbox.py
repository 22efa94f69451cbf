"""Read models for the inbox, the details side panel and the directories (a fixed number of
queries per page, whatever the number of rows: no lazy loads in templates)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, exists, func, or_, select

from promptify.extensions import db
from promptify.models import (
    Contact,
    Conversation,
    IdentifyFailure,
    Membership,
    Message,
    Operator,
    Organization,
)
from promptify.services import failures

PAGE_SIZE = 25
FILTERS = ("open", "closed", "mine", "all")


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    contact: Contact


@dataclass(frozen=True)
class Cursor:
    """Keyset position: rows strictly older than (at, id)."""

    at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.at.timestamp():.6f}_{self.id}"

    @staticmethod
    def decode(text: str | None) -> Cursor | None:
        from datetime import UTC

        try:
            stamp, ident = (text or "").split("_", 1)
            return Cursor(datetime.fromtimestamp(float(stamp), UTC), int(ident))
        except (ValueError, OverflowError, OSError):
            return None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contact_matches(workspace_id: int, q: str):  # type: ignore[no-untyped-def]
    pattern = _like(q.strip()[:200])
    in_org = exists().where(
        Membership.contact_id == Contact.id,
        Membership.organization_id == Organization.id,
        Organization.workspace_id == workspace_id,
        Organization.name.ilike(pattern, escape="\\"),
    )
    return or_(
        Contact.name.ilike(pattern, escape="\\"),
        Contact.email.ilike(pattern, escape="\\"),
        Contact.external_id == q.strip(),
        Contact.external_id.ilike(pattern, escape="\\"),
        in_org,
    )


def list_conversations(
    workspace_id: int, *, status: str, operator_id: int, q: str = "", before: Cursor | None = None
) -> tuple[list[ConversationRow], Cursor | None]:
    """Newest activity first, keyset-paged; one query."""
    query: Select = (
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.workspace_id == workspace_id)
    )
    if status in ("open", "closed"):
        query = query.where(Conversation.status == status)
    elif status == "mine":
        query = query.where(Conversation.assignee_id == operator_id, Conversation.status == "open")
    if q.strip():
        query = query.where(_contact_matches(workspace_id, q))
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


@dataclass(frozen=True)
class ContactPanel:
    contact: Contact
    organizations: list[Organization]
    other_conversations: list[Conversation]
    # the external id of the verified contact this contact's unproven email belongs to
    email_claim_of: str | None = None
    latest_failure: IdentifyFailure | None = None  # the last refused identification on its session


def contact_panel(contact: Contact, *, exclude_conversation_id: int | None = None) -> ContactPanel:
    organizations = list(
        db.session.scalars(
            select(Organization)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.contact_id == contact.id)
            .order_by(Organization.name)
        )
    )
    others = select(Conversation).where(Conversation.contact_id == contact.id)
    if exclude_conversation_id is not None:
        others = others.where(Conversation.id != exclude_conversation_id)
    other_conversations = list(
        db.session.scalars(others.order_by(Conversation.last_message_at.desc()).limit(10))
    )
    return ContactPanel(
        contact,
        organizations,
        other_conversations,
        email_claim_of(contact),
        failures.latest_for_contact(contact.id),
    )


def email_claim_of(contact: Contact) -> str | None:
    """When this contact's email was typed or sent unsigned and a verified contact of the
    workspace has it (in any letter case), that contact's external id: the console shows the
    email as a claim. Nothing is ever merged or linked by email."""
    return email_claims([contact]).get(contact.id)


def email_claims(contacts: Sequence[Contact]) -> dict[int, str]:
    """`email_claim_of` for a page of contacts, in one query: contact id → verified user's id."""
    unproven = [c for c in contacts if c.email_folded is not None and not c.email_verified]
    if not unproven:
        return {}
    workspace_ids = {c.workspace_id for c in unproven}
    owners: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for owner_id, workspace_id, folded, external_id in db.session.execute(
        select(Contact.id, Contact.workspace_id, Contact.email_folded, Contact.external_id)
        .where(
            Contact.workspace_id.in_(workspace_ids),
            Contact.email_folded.in_({c.email_folded for c in unproven}),
            Contact.verified.is_(True),
        )
        .order_by(Contact.email_verified.desc(), Contact.id)
    ):
        owners.setdefault((workspace_id, folded or ""), []).append((owner_id, external_id or ""))
    claims = {}
    for contact in unproven:
        others = [
            e
            for i, e in owners.get((contact.workspace_id, contact.email_folded or ""), [])
            if i != contact.id
        ]
        if others:
            claims[contact.id] = others[0]
    return claims


# --- directories ---------------------------------------------------------------------------


def list_contacts(
    workspace_id: int, *, q: str = "", before: Cursor | None = None
) -> tuple[list[Contact], Cursor | None]:
    query = select(Contact).where(Contact.workspace_id == workspace_id)
    if q.strip():
        query = query.where(_contact_matches(workspace_id, q))
    if before is not None:
        query = query.where(
            Contact.last_seen_at <= before.at,  # index bound, as for conversations
            or_(
                Contact.last_seen_at < before.at,
                and_(Contact.last_seen_at == before.at, Contact.id < before.id),
            ),
        )
    rows = list(
        db.session.scalars(
            query.order_by(Contact.last_seen_at.desc(), Contact.id.desc()).limit(PAGE_SIZE + 1)
        )
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (Cursor(rows[-1].last_seen_at, rows[-1].id) if more and rows else None)


def list_organizations(
    workspace_id: int, *, q: str = "", after_name: str | None = None, after_id: int | None = None
) -> tuple[list[tuple[Organization, int]], tuple[str, int] | None]:
    """Alphabetical with member counts (one query; counts use the membership index), keyset-paged."""
    members = (
        select(func.count()).where(Membership.organization_id == Organization.id).scalar_subquery()
    )
    query = select(Organization, members).where(Organization.workspace_id == workspace_id)
    if q.strip():
        pattern = _like(q.strip()[:200])
        query = query.where(
            or_(
                Organization.name.ilike(pattern, escape="\\"), Organization.external_id == q.strip()
            )
        )
    if after_name is not None and after_id is not None:
        query = query.where(
            or_(
                Organization.name > after_name,
                and_(Organization.name == after_name, Organization.id > after_id),
            )
        )
    rows = [
        (o, n)
        for o, n in db.session.execute(
            query.order_by(Organization.name, Organization.id).limit(PAGE_SIZE + 1)
        )
    ]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, ((rows[-1][0].name, rows[-1][0].id) if more and rows else None)


def organization_members(organization: Organization) -> list[Contact]:
    return list(
        db.session.scalars(
            select(Contact)
            .join(Membership, Membership.contact_id == Contact.id)
            .where(Membership.organization_id == organization.id)
            .order_by(Contact.name, Contact.id)
            .limit(200)
        )
    )
