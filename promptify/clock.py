"""The one place the application reads the time, so tests can move it (config key `CLOCK`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app


def system_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """Timezone-aware UTC now, from `app.config["CLOCK"]` when a test installed one."""
    clock: Callable[[], datetime] = current_app.config.get("CLOCK") or system_now
    return clock()
