"""The typed policy services receive: every duration read from the configuration, in its unit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from promptify.config import DEFAULTS
from promptify.services.policy import Policy


def test_the_defaults_give_the_documented_durations() -> None:
    policy = Policy.from_config(DEFAULTS)
    assert policy.key_grace == timedelta(hours=2)
    assert policy.jwt_leeway == timedelta(seconds=30)
    assert policy.max_token_lifetime == timedelta(days=1)
    assert policy.verified_session == timedelta(hours=1)
    assert policy.session_idle == timedelta(days=30)
    assert policy.last_seen_throttle == timedelta(minutes=1)
    assert policy.anonymous_retention == timedelta(days=30)
    assert policy.failure_retention == timedelta(days=30)


def test_values_from_the_environment_arrive_as_strings_and_are_converted() -> None:
    policy = Policy.from_config(
        {**DEFAULTS, "KEY_GRACE_SECONDS": "60", "PURGE_FAILURES_AFTER_DAYS": "7"}
    )
    assert policy.key_grace == timedelta(minutes=1)
    assert policy.failure_retention == timedelta(days=7)


def test_a_policy_cannot_be_changed_once_built() -> None:
    policy = Policy.from_config(DEFAULTS)
    with pytest.raises(AttributeError):
        policy.key_grace = timedelta(0)  # type: ignore[misc]
