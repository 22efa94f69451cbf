"""The pure session lifecycle rules (promptify/identity/trust.py), with literal times."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from promptify.identity.trust import SessionFacts, is_live, needs_renewal, verified_until

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
GRACE = timedelta(hours=2)
HOUR = timedelta(hours=1)

VERIFIED = SessionFacts(
    ended_at=None,
    verified_until=NOW + HOUR,
    key_revoked_at=None,
    key_retired_at=None,
    contact_anonymous=False,
    contact_verified=True,
    require_jwt=False,
)
UNVERIFIED = replace(VERIFIED, verified_until=None, contact_verified=False)
ANONYMOUS = replace(UNVERIFIED, contact_anonymous=True)

CASES = [
    ("verified, within its hour", VERIFIED, True),
    ("verified, at verified_until", replace(VERIFIED, verified_until=NOW), False),
    ("verified, key revoked", replace(VERIFIED, key_revoked_at=NOW - timedelta(seconds=1)), False),
    (
        "verified, key revoked later",
        replace(VERIFIED, key_revoked_at=NOW + timedelta(seconds=1)),
        True,
    ),
    ("verified, key retiring", replace(VERIFIED, key_retired_at=NOW - HOUR), True),
    ("verified, key grace over", replace(VERIFIED, key_retired_at=NOW - GRACE), False),
    ("verified, ended by a cascade", replace(VERIFIED, ended_at=NOW - HOUR), False),
    ("unverified contact, unverified session", UNVERIFIED, True),
    ("verified contact, unverified session", replace(UNVERIFIED, contact_verified=True), False),
    ("unverified session, JWT required", replace(UNVERIFIED, require_jwt=True), False),
    ("anonymous, JWT required", replace(ANONYMOUS, require_jwt=True), True),
    ("anonymous, ended", replace(ANONYMOUS, ended_at=NOW), False),
    ("verified session, JWT required", replace(VERIFIED, require_jwt=True), True),
]


@pytest.mark.parametrize(("facts", "live"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_is_live(facts, live):
    assert is_live(facts, now=NOW, grace=GRACE) is live


def test_verified_until_is_the_lifetime_cut_by_a_retiring_keys_grace():
    assert verified_until(NOW, HOUR, None, GRACE) == NOW + HOUR
    assert verified_until(NOW, HOUR, NOW - timedelta(minutes=90), GRACE) == NOW + timedelta(
        minutes=30
    )
    assert verified_until(NOW, HOUR, NOW, GRACE) == NOW + HOUR


def test_renewal_is_throttled_for_the_same_key_only_while_not_lapsed():
    minute = timedelta(minutes=1)

    def renew(key="a", at=NOW, until=NOW + HOUR, stored_key="a"):
        return needs_renewal(
            stored_key=stored_key,
            stored_at=at,
            stored_until=until,
            key=key,
            now=NOW,
            throttle=minute,
        )

    assert renew(stored_key=None, at=None, until=None)
    assert not renew(at=NOW - timedelta(seconds=59))
    assert renew(at=NOW - minute)
    assert renew(key="b")
    assert renew(at=NOW - timedelta(seconds=30), until=NOW)  # a lifetime shorter than the throttle
