"""Contacts and their organizations: the persistence half of the identify merge rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


def fold_email(email: str | None) -> str | None:
    """The form two spellings of one mailbox share (`Jane.Doe@` and `jane.doe@`), for claims."""
    return email.lower() if email is not None else None


def find_by_external_id(
    workspace_id: int, external_id: str, *, lock: bool = False
) -> Contact | None:
    """`lock` re-reads the row and locks it (PostgreSQL `FOR UPDATE`) for a read-merge-write."""
    query = select(Contact).where(
        Contact.workspace_id == workspace_id, Contact.external_id == external_id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def profile_of(contact: Contact | None) -> Profile:
    if contact is None:
        return Profile()
    return Profile(
        contact.email,
        contact.name,
        contact.avatar_url,
        dict(contact.attrs or {}),
        contact.email_verified,
    )


def save_profile(contact: Contact, profile: Profile) -> None:
    """Assign only what differs, so an unchanged identify issues no UPDATE."""
    for name in ("email", "name", "avatar_url", "email_verified"):
        if getattr(contact, name) != getattr(profile, name):
            setattr(contact, name, getattr(profile, name))
    folded = fold_email(profile.email)
    if contact.email_folded != folded:
        contact.email_folded = folded
    if (contact.attrs or {}) != profile.attrs:
        contact.attrs = dict(profile.attrs)


def sync_organizations(
    workspace_id: int,
    contact: Contact,
    organizations: Sequence[OrganizationInput],
    *,
    current: Sequence[Organization],
    signed: bool,
    now: datetime,
) -> list[Organization]:
    """The list is complete. Upsert each organization (attrs merge), then make the contact's
    memberships exactly this set; organizations left behind keep existing. Returns the contact's
    organizations; `current` are its organizations as loaded (`organizations_of`)."""
    wanted = _upsert_organizations(workspace_id, organizations, signed=signed, now=now)
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


def organizations_applied(
    current: Sequence[Organization], organizations: Sequence[OrganizationInput], *, signed: bool
) -> bool:
    """True when the memberships are exactly this list and applying it would change no
    organization (the common page load: nothing to write, nothing to lock)."""
    by_id = {o.external_id: o for o in current}
    if set(by_id) != {given.external_id for given in organizations}:
        return False
    for given in organizations:
        stored = by_id[given.external_id]
        if stored.verified and not signed:
            continue  # an unsigned call's name and attrs are ignored for a verified organization
        if signed and not stored.verified:
            return False
        if stored.name != given.name or merge_attrs(stored.attrs or {}, given.attrs) != (
            stored.attrs or {}
        ):
            return False
    return True


def _upsert_organizations(
    workspace_id: int, organizations: Sequence[OrganizationInput], *, signed: bool, now: datetime
) -> list[Organization]:
    """Create or update each organization. Existing rows are re-read and locked in one order
    (external id), so concurrent identifies of members of one organization keep every merge."""
    ids = [o.external_id for o in organizations]
    existing = (
        {
            o.external_id: o
            for o in db.session.scalars(
                select(Organization)
                .where(Organization.workspace_id == workspace_id, Organization.external_id.in_(ids))
                .order_by(Organization.external_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        }
        if ids
        else {}
    )
    for given in organizations:
        organization = existing.get(given.external_id)
        if organization is None:
            organization = Organization(
                workspace_id=workspace_id,
                external_id=given.external_id,
                name=given.name,
                attrs={},
                verified=False,
                created_at=now,
            )
            db.session.add(organization)
            existing[given.external_id] = organization
        elif organization.verified and not signed:
            continue  # only signed identifies change a verified organization (docs/security.md)
        merged = merge_attrs(organization.attrs or {}, given.attrs)
        check_attr_count(merged, f"organizations[{given.index}].attrs")
        if organization.name != given.name:
            organization.name = given.name
        if (organization.attrs or {}) != merged:
            organization.attrs = merged
        if signed and not organization.verified:
            organization.verified = True
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


@dataclass(frozen=True)
class OrganizationSnapshot:
    external_id: str
    name: str | None
    attrs: dict[str, Any]


@dataclass(frozen=True)
class ContactSnapshot:
    """A contact as the widget sees it, taken inside the transaction that wrote it (the rows
    expire at commit; reading them afterwards would cost a query and could see a later merge)."""

    external_id: str | None
    anonymous: bool
    verified: bool
    email: str | None
    name: str | None
    avatar_url: str | None
    attrs: dict[str, Any]
    organizations: tuple[OrganizationSnapshot, ...]


def snapshot(
    contact: Contact, organizations: Sequence[Organization] | None = None
) -> ContactSnapshot:
    """Pass `organizations` when they are already loaded."""
    if organizations is None:
        organizations = [] if contact.anonymous else organizations_of(contact.id)
    return ContactSnapshot(
        external_id=contact.external_id,
        anonymous=contact.anonymous,
        verified=contact.verified,
        email=contact.email,
        name=contact.name,
        avatar_url=contact.avatar_url,
        attrs=dict(contact.attrs or {}),
        organizations=tuple(
            OrganizationSnapshot(o.external_id, o.name, dict(o.attrs or {})) for o in organizations
        ),
    )
