"""Search and paging shared by the inbox and the directories: keyset cursors (a page costs the
same however deep it is) and the contact search (name, email, external id, organization name)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, or_

from promptify.models import Contact, Membership, Organization

PAGE_SIZE = 25


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


def like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contact_matches(workspace_id: int, q: str):  # type: ignore[no-untyped-def]
    pattern = like(q.strip()[:200])
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
