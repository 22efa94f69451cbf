"""Every JSON shape the widget API answers with (docs/widget-api.md), in one place.

Services return models and snapshots; these functions decide the wire format: camelCase keys,
times in ISO 8601 UTC, attrs sorted by key, `null` rather than a missing key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from promptify.identity.errors import ApiError
from promptify.models import Conversation, Message
from promptify.services.contacts import ContactSnapshot
from promptify.services.identify import IdentifyResult


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, millisecond precision: `2025-01-31T09:15:00.000Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def contact(snapshot: ContactSnapshot) -> dict[str, Any]:
    """The identify answer's `contact`; `id` is always a string or null."""
    return {
        "id": snapshot.external_id,
        "anonymous": snapshot.anonymous,
        "verified": snapshot.verified,
        "email": snapshot.email,
        "name": snapshot.name,
        "avatarUrl": snapshot.avatar_url,
        "attrs": dict(sorted(snapshot.attrs.items())),
        "organizations": [
            {"id": o.external_id, "name": o.name, "attrs": dict(sorted(o.attrs.items()))}
            for o in snapshot.organizations
        ],
    }


def error(refusal: ApiError) -> dict[str, Any]:
    """The error envelope of docs/widget-api.md, "Errors"."""
    return {"error": {"code": refusal.code, "message": refusal.message, "field": refusal.field}}


def identify_answer(result: IdentifyResult) -> dict[str, Any]:
    return {
        "session": result.session_token,
        "contact": contact(result.contact),
        "verifiedUntil": iso(result.verified_until) if result.verified_until else None,
    }


def conversation(row: Conversation, unread: int) -> dict[str, Any]:
    """`unread`: agent messages the visitor has not been shown yet."""
    return {
        "id": row.id,
        "status": row.status,
        "lastMessageAt": iso(row.last_message_at),
        "preview": row.preview,
        "unread": unread,
    }


def message(row: Message, author_name: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "author": row.author,
        "authorName": author_name,
        "body": row.body,
        "createdAt": iso(row.created_at),
        "verified": row.verified,
    }


def messages(authored: Sequence[tuple[Message, str | None]]) -> list[dict[str, Any]]:
    return [message(row, name) for row, name in authored]
