"""The time rules the services apply (docs/operations.md, "Configuration"), as one typed value.

Views and commands build it from the configuration with `Policy.from_config` and pass it to a
service the way they pass `now`; no service reads the application's configuration itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

MIN_AUDIT_RETENTION = timedelta(days=365)  # the audit log is kept at least a year


@dataclass(frozen=True)
class Policy:
    key_grace: timedelta  # a replaced key still verifies this long
    jwt_leeway: timedelta  # clock skew allowed on exp, nbf and iat
    max_token_lifetime: timedelta  # exp may be at most this far ahead
    verified_session: timedelta  # a verified session lapses this long after a signed identify
    session_idle: timedelta  # any session ends after this long unused
    last_seen_throttle: timedelta  # "last seen" and similar stamps are rewritten at most this often
    anonymous_retention: timedelta  # `promptify purge` deletes anonymous visitors idle this long
    failure_retention: timedelta  # ... and refused identifications this old
    audit_retention: timedelta  # ... and audit events this old (never less than a year)
    # unread messages are emailed this long after they arrived; None: no email (no SMTP server)
    notify_after: timedelta | None
    # what one visitor (the session's contact) may start and write per hour: 429 beyond
    conversations_per_hour: int
    messages_per_hour: int
    failure_log_rows: int  # refused identifications kept per workspace; older ones are counted

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Policy:
        def seconds(name: str) -> timedelta:
            return timedelta(seconds=int(config[name]))

        def days(name: str) -> timedelta:
            return timedelta(days=int(config[name]))

        return cls(
            key_grace=seconds("KEY_GRACE_SECONDS"),
            jwt_leeway=seconds("JWT_LEEWAY_SECONDS"),
            max_token_lifetime=seconds("MAX_TOKEN_LIFETIME_SECONDS"),
            verified_session=seconds("VERIFIED_SESSION_SECONDS"),
            session_idle=seconds("SESSION_IDLE_SECONDS"),
            last_seen_throttle=seconds("LAST_SEEN_THROTTLE_SECONDS"),
            anonymous_retention=days("PURGE_ANONYMOUS_AFTER_DAYS"),
            failure_retention=days("PURGE_FAILURES_AFTER_DAYS"),
            audit_retention=max(days("AUDIT_RETENTION_DAYS"), MIN_AUDIT_RETENTION),
            notify_after=seconds("NOTIFY_AFTER_SECONDS") if config.get("SMTP_URL") else None,
            conversations_per_hour=int(config["CONVERSATIONS_PER_HOUR"]),
            messages_per_hour=int(config["MESSAGES_PER_HOUR"]),
            failure_log_rows=int(config["FAILURE_LOG_ROWS"]),
        )
