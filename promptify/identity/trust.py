"""The trust lifecycle of a widget session (docs/security.md, "Trust lifecycle"). Pure.

A verified session is only as good as the proof behind it: it holds until `verified_until` (the
last signed identify plus the verified-session lifetime, never past its key's grace deadline),
and only while that key is usable. An unverified session cannot read a verified contact's data,
nor an identified contact's once the workspace requires signed identification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SessionFacts:
    """What decides whether a session is live, as stored."""

    ended_at: datetime | None
    verified_until: datetime | None  # None: never verified
    key_revoked_at: datetime | None
    key_retired_at: datetime | None
    contact_anonymous: bool
    contact_verified: bool
    require_jwt: bool


def is_live(facts: SessionFacts, *, now: datetime, grace: timedelta) -> bool:
    """False when the session has lapsed or was ended: its calls answer `session_expired`."""
    if facts.ended_at is not None:
        return False
    if facts.verified_until is not None:
        if now >= facts.verified_until:
            return False
        if facts.key_revoked_at is not None and facts.key_revoked_at <= now:
            return False
        return facts.key_retired_at is None or now < facts.key_retired_at + grace
    if facts.contact_verified:
        return (
            False  # someone identified unsigned as this id before the user's first signed sign-in
        )
    return facts.contact_anonymous or not facts.require_jwt


def verified_until(
    now: datetime, lifetime: timedelta, key_retired_at: datetime | None, grace: timedelta
) -> datetime:
    """How long a signed identify at `now` keeps its session verified: `lifetime`, cut short
    by the grace deadline of a key that is already being replaced."""
    until = now + lifetime
    if key_retired_at is not None:
        until = min(until, key_retired_at + grace)
    return until


def needs_renewal(
    *,
    stored_key: str | None,
    stored_at: datetime | None,
    stored_until: datetime | None,
    key: str,
    now: datetime,
    throttle: timedelta,
) -> bool:
    """A signed identify renews the session's proof; on every page load that would be a write,
    so an unchanged proof (same key, not lapsed) is rewritten at most once per `throttle`."""
    if stored_key != key or stored_at is None or stored_until is None or stored_until <= now:
        return True
    return now - stored_at >= throttle
