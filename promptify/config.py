"""Configuration: defaults → instance/config.py → PROMPTIFY_* environment → test_config.

The settings: docs/operations.md, "Configuration".
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from promptify.services.policy import Policy

DEFAULTS: dict[str, Any] = {
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "WTF_CSRF_TIME_LIMIT": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "KEY_GRACE_SECONDS": 7200,
    "MAX_TOKEN_LIFETIME_SECONDS": 86400,
    "JWT_LEEWAY_SECONDS": 30,
    "LAST_SEEN_THROTTLE_SECONDS": 60,
    "SESSION_IDLE_SECONDS": 30 * 86400,
    "VERIFIED_SESSION_SECONDS": 3600,  # a verified session lapses this long after its last signed identify
    "PROXY_HOPS": 0,
    "RATELIMIT_ENABLED": True,  # explicit: Flask-Limiter otherwise inherits the last app's choice
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "LOGIN_RATE_LIMIT": "10 per minute;50 per hour",
    # Generous: a page load costs one identify plus a poll every few seconds while chatting.
    "WIDGET_RATE_LIMIT_PER_ADDRESS": "600 per minute",
    "WIDGET_RATE_LIMIT_PER_APP": "20000 per minute",
    "PURGE_ANONYMOUS_AFTER_DAYS": 30,
    "PURGE_FAILURES_AFTER_DAYS": 30,
    "AUDIT_RETENTION_DAYS": 400,  # at least 365: lower values count as 365
    # per visitor and hour: a person chatting stays far below, a script filling the inbox not
    "CONVERSATIONS_PER_HOUR": 20,
    "MESSAGES_PER_HOUR": 300,
    "FAILURE_LOG_ROWS": 10_000,  # per workspace: the newest are kept, the others counted
    "SMTP_URL": None,  # unset: no email is queued or sent
    "MAIL_FROM": None,  # None: promptify@<this host's name>
    "CONSOLE_URL": None,  # the console's public address, for the links in emails
    "NOTIFY_AFTER_SECONDS": 120,
    "MAIL_SENDER": None,  # background sender: None = on, but off under TESTING; False = cron only
    "MAIL_POLL_SECONDS": 5,
    # console sessions (docs/security.md, "Console sessions"): without "Keep me signed in" one ends
    # this long after its last request; with it, the cookie and the session last
    # PERMANENT_SESSION_LIFETIME (seconds) from sign-in
    "CONSOLE_SESSION_IDLE_SECONDS": 14 * 86400,
    "PERMANENT_SESSION_LIFETIME": 30 * 86400,
}


def load(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PROMPTIFY")
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(os.environ["DATABASE_URL"])
    if test_config:
        app.config.from_mapping(test_config)
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI", f"sqlite:///{Path(app.instance_path) / 'promptify.sqlite'}"
    )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))


def _normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` and `postgresql://` spellings and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _instance_secret_key(instance: Path) -> str:
    """Read `instance/secret_key`, generating it on first run (never a hard-coded fallback)."""
    path = instance / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def current_policy() -> Policy:
    """The running application's policy, read from its configuration at each call, so a setting
    changed on `app.config` (as tests do) takes effect on the next request."""
    return Policy.from_config(current_app.config)
