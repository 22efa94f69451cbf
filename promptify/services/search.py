"""Search and paging shared by the inbox and the directories: keyset cursors (a page costs the
same however deep it is), the range every id from a URL must fall in, and the contact search
(name, email, external id, organization name)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import exists, or_

from promptify.models import Contact, Membership, Organization
from promptify.services.conversations import MAX_ID

PAGE_SIZE = 25
MAX_SEARCH = 200  # characters of a search that are used
_ID = re.compile(r"[0-9]{1,10}")
_STAMP = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,6})?")


def in_id_range(value: int) -> bool:
    """True for an id a row can have: our integer columns are 32-bit, and ids start at 1. Every id
    and cursor taken from a request goes through here before it reaches SQL (a larger one makes
    PostgreSQL refuse the whole query)."""
    return 0 < value <= MAX_ID


def parse_id(text: str | None) -> int | None:
    """An id written in a URL or a form: ASCII digits naming a row that can exist; None for
    anything else (signs, spaces, other scripts' digits, numbers past `MAX_ID`)."""
    if text is None or not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if in_id_range(value) else None


def search_terms(text: str) -> str:
    """What a search looks for: without control characters (NUL, line breaks and the like, which
    no name holds and PostgreSQL refuses in a query) or lone surrogates, trimmed, at most
    `MAX_SEARCH` characters."""
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cs"))
    return kept.strip()[:MAX_SEARCH].strip()


def storable(text: str) -> bool:
    """False for text no row can hold (a NUL, which PostgreSQL refuses, or a lone surrogate): as
    a cursor it points nowhere, and it must not reach a query."""
    return "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)


@dataclass(frozen=True)
class Cursor:
    """Keyset position: rows strictly older than (at, id)."""

    at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.at.timestamp():.6f}_{self.id}"

    @staticmethod
    def decode(text: str | None) -> Cursor | None:
        """The cursor `encode` wrote; None for anything else (the first page is shown then)."""
        stamp, _, ident = (text or "").partition("_")
        row_id = parse_id(ident)
        if row_id is None or not _STAMP.fullmatch(stamp):
            return None
        try:
            return Cursor(datetime.fromtimestamp(float(stamp), UTC), row_id)
        except (ValueError, OverflowError, OSError):  # a year before 1 or after 9999
            return None


def like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contact_matches(workspace_id: int, q: str):  # type: ignore[no-untyped-def]
    q = search_terms(q)
    pattern = like(q)
    in_org = exists().where(
        Membership.contact_id == Contact.id,
        Membership.organization_id == Organization.id,
        Organization.workspace_id == workspace_id,
        Organization.name.ilike(pattern, escape="\\"),
    )
    return or_(
        Contact.name.ilike(pattern, escape="\\"),
        Contact.email.ilike(pattern, escape="\\"),
        Contact.external_id == q,
        Contact.external_id.ilike(pattern, escape="\\"),
        in_org,
    )
