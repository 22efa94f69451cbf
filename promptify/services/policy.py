"""Durations from the configuration (docs/operations.md, "Configuration"), as timedeltas."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app


def seconds(name: str) -> timedelta:
    """`seconds("KEY_GRACE_SECONDS")` → the configured duration."""
    return timedelta(seconds=int(current_app.config[name]))
