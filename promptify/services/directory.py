"""Read models for the people directories and the side panel the inbox shows next to a
conversation: contacts, organizations with their members, email claims (a fixed number of
queries per page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from promptify.extensions import db
from promptify.models import Contact, Conversation, IdentifyFailure, Membership, Organization
from promptify.services import failures
from promptify.services.search import (
    PAGE_SIZE,
    Cursor,
    contact_matches,
    in_id_range,
    like,
    search_terms,
    storable,
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


def list_contacts(
    workspace_id: int, *, q: str = "", before: Cursor | None = None
) -> tuple[list[Contact], Cursor | None]:
    query = select(Contact).where(Contact.workspace_id == workspace_id)
    if search_terms(q):
        query = query.where(contact_matches(workspace_id, q))
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
    q = search_terms(q)
    if q:
        query = query.where(
            or_(Organization.name.ilike(like(q), escape="\\"), Organization.external_id == q)
        )
    if (
        after_name is not None
        and after_id is not None
        and storable(after_name)
        and in_id_range(after_id)
    ):
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
