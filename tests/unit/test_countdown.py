"""promptify.blueprints.security.countdown: the grace countdown texts, with literal datetimes (no app, no DB)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import promptify.blueprints.security.countdown
from promptify.blueprints.security.countdown import clock_time, duration, time_left

NOW = datetime(2025, 3, 2, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("left", "text"),
    [
        (timedelta(hours=1, minutes=12), "1 h 12 min left"),
        (timedelta(hours=2), "2 h left"),
        (timedelta(hours=1, minutes=12, seconds=59), "1 h 12 min left"),  # rounded down
        (timedelta(minutes=45), "45 min left"),
        (timedelta(minutes=1), "1 min left"),
        (timedelta(seconds=59), "less than 1 min left"),
        (timedelta(seconds=1), "less than 1 min left"),
        (timedelta(days=3, hours=4, minutes=5), "3 d 4 h left"),
        (timedelta(days=2), "2 d left"),
        (timedelta(0), "expired"),
        (timedelta(minutes=-5), "expired"),
    ],
    ids=lambda value: str(value),
)
def test_time_left(left, text):
    assert time_left(NOW + left, NOW) == text


def test_grace_of_two_hours_after_48_minutes():
    retired = NOW
    deadline = retired + timedelta(hours=2)
    assert time_left(deadline, retired + timedelta(minutes=48)) == "1 h 12 min left"


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(hours=2), "2 h"),
        (timedelta(minutes=90), "1 h 30 min"),
        (timedelta(seconds=30), "0 min"),
        (timedelta(seconds=-30), "0 min"),
        (timedelta(days=1, minutes=30), "1 d"),
    ],
)
def test_duration(span, text):
    assert duration(span) == text


def test_clock_time_today_and_another_day():
    assert clock_time(datetime(2025, 3, 2, 14, 32, 40, tzinfo=UTC), NOW) == "14:32 UTC"
    assert clock_time(datetime(2025, 3, 3, 0, 5, tzinfo=UTC), NOW) == "2025-03-03 00:05 UTC"


def test_clock_time_converts_other_offsets_to_utc():
    paris = timezone(timedelta(hours=1))
    assert clock_time(datetime(2025, 3, 2, 15, 32, tzinfo=paris), NOW) == "14:32 UTC"


def test_countdown_is_pure():
    tree = ast.parse(Path(promptify.blueprints.security.countdown.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported <= {"__future__", "datetime"}
