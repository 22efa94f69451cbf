"""Contacts and their organizations: the persistence half of §2.1's merge rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from promptify.extensions import db
from promptify.identity.merge import Profile
from promptify.identity.payload import OrganizationInput, check_attr_count, merge_attrs
from promptify.models import Contact, Membership, Organization


def new_contact(workspace_id: int, external_id: str | None, *, now: datetime) -> Contact:
    """Insert a contact now, so a concurrent first identify of the same id hits the unique key."""
    contact = Contact(
        workspace_id=workspace_id,
        external_id=external_id,
        attrs={},
        verified=False,
        first_seen_at=now,
        last_seen_at=now,
    )
    db.session.add(contact)
    db.session.flush()
    return contact


def find_by_external_id(workspace_id: int, external_id: str) -> Contact | None:
    return db.session.scalar(
        select(Contact).where(Contact.workspace_id == workspace_id, Contact.external_id == external_id)
    )


def profile_of(contact: Contact) -> Profile:
    return Profile(contact.email, contact.name, contact.avatar_url, dict(contact.attrs or {}))


def save_profile(contact: Contact, profile: Profile) -> None:
    """Assign only what differs, so an unchanged identify issues no UPDATE."""
    for name in ("email", "name", "avatar_url"):
        if getattr(contact, name) != getattr(profile, name):
            setattr(contact, name, getattr(profile, name))
    if (contact.attrs or {}) != profile.attrs:
        contact.attrs = dict(profile.attrs)


def sync_organizations(
    workspace_id: int, contact: Contact, organizations: Sequence[OrganizationInput], *, now: datetime
) -> list[Organization]:
    """§2.1: the list is complete. Upsert each organization (attrs merge), then make the contact's
    memberships exactly this set; organizations left behind keep existing. Returns the contact's
    organizations. An unchanged list (the common page load) costs one query and writes nothing."""
    current = organizations_of(contact.id)
    if _already_applied(current, organizations):
        return current
    wanted = _upsert_organizations(workspace_id, organizations, now=now)
    current_ids = {o.id for o in current}
    wanted_ids = {o.id for o in wanted}
    stale = current_ids - wanted_ids
    if stale:
        db.session.execute(
            delete(Membership).where(
                Membership.contact_id == contact.id, Membership.organization_id.in_(stale)
            )
        )
    for organization_id in sorted(wanted_ids - current_ids):
        db.session.add(Membership(contact_id=contact.id, organization_id=organization_id))
    db.session.flush()
    return sorted(wanted, key=lambda o: (o.name, o.external_id))


def _already_applied(current: Sequence[Organization], organizations: Sequence[OrganizationInput]) -> bool:
    """True when the memberships are exactly this list and merging it would change no organization."""
    by_id = {o.external_id: o for o in current}
    if set(by_id) != {given.external_id for given in organizations}:
        return False
    return all(
        by_id[given.external_id].name == given.name
        and merge_attrs(by_id[given.external_id].attrs or {}, given.attrs) == (by_id[given.external_id].attrs or {})
        for given in organizations
    )


def _upsert_organizations(
    workspace_id: int, organizations: Sequence[OrganizationInput], *, now: datetime
) -> list[Organization]:
    ids = [o.external_id for o in organizations]
    existing = {
        o.external_id: o
        for o in db.session.scalars(
            select(Organization).where(
                Organization.workspace_id == workspace_id, Organization.external_id.in_(ids)
            )
        )
    } if ids else {}
    for position, given in enumerate(organizations):
        organization = existing.get(given.external_id)
        if organization is None:
            organization = Organization(
                workspace_id=workspace_id, external_id=given.external_id, name=given.name, attrs={}, created_at=now
            )
            db.session.add(organization)
            existing[given.external_id] = organization
        merged = merge_attrs(organization.attrs or {}, given.attrs)
        check_attr_count(merged, f"organizations[{getattr(given, 'index', position)}].attrs")
        if organization.name != given.name:
            organization.name = given.name
        if (organization.attrs or {}) != merged:
            organization.attrs = merged
    db.session.flush()
    return [existing[i] for i in ids]


def organizations_of(contact_id: int) -> list[Organization]:
    return list(
        db.session.scalars(
            select(Organization)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.contact_id == contact_id)
            .order_by(Organization.name, Organization.external_id)
        )
    )


def contact_json(contact: Contact, organizations: Sequence[Organization] | None = None) -> dict[str, Any]:
    """The §2.1 response shape; `id` is always a string or null. Pass `organizations` when they
    are already loaded."""
    if organizations is None:
        organizations = [] if contact.anonymous else organizations_of(contact.id)
    return {
        "id": contact.external_id,
        "anonymous": contact.anonymous,
        "verified": contact.verified,
        "email": contact.email,
        "name": contact.name,
        "avatarUrl": contact.avatar_url,
        "attrs": dict(sorted((contact.attrs or {}).items())),
        "organizations": [
            {"id": o.external_id, "name": o.name, "attrs": dict(sorted((o.attrs or {}).items()))}
            for o in organizations
        ],
    }
