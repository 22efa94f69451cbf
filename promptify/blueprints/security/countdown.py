"""Plain-words deadlines for the console, such as the grace countdown of a retiring key:
"valid until 14:32 UTC, 1 h 12 min left".

Pure: stdlib only, time passed in. Remaining time is rounded *down* to the minute, so the page
never promises more validity than a key has left.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


def duration(span: timedelta) -> str:
    """'45 min', '1 h 12 min', '2 h', '3 d 4 h' (whole minutes, rounded down; '0 min' for less)."""
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, _DAY)
    hours, rest = divmod(rest, _HOUR)
    minutes = rest // _MINUTE
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def time_left(deadline: datetime, now: datetime) -> str:
    """'1 h 12 min left', 'less than 1 min left', or 'expired' once `now` reaches the deadline."""
    remaining = deadline - now
    if remaining <= timedelta(0):
        return "expired"
    if remaining < timedelta(minutes=1):
        return "less than 1 min left"
    return f"{duration(remaining)} left"


def clock_time(moment: datetime, now: datetime) -> str:
    """'14:32 UTC' when `moment` falls on today's UTC date, else '2025-03-02 14:32 UTC'."""
    moment, today = moment.astimezone(UTC), now.astimezone(UTC).date()
    if moment.date() == today:
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")
