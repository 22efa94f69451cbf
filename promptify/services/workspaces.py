"""Workspaces: creation, lookup by app id, allowed origins, the require-signed switch."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from promptify.extensions import db
from promptify.identity.errors import ApiError
from promptify.models import AllowedOrigin, AuditAction, Workspace
from promptify.services import audit, sessions, transaction
from promptify.services.audit import Actor


class InvalidOrigin(ValueError):
    pass


def new_app_id() -> str:
    """`app_` + 20 random url-safe characters."""
    return "app_" + secrets.token_urlsafe(15)


_HOST = re.compile(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]")


def normalise_origin(text: str) -> str:
    """`https://Example.com:443/` → `https://example.com`; refuses paths, credentials and odd hosts."""
    value = text.strip()
    parts = urlsplit(value)
    example = "like https://app.example.com"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidOrigin(f"{value[:100]!r} is not an origin {example}")
    if (
        parts.username
        or parts.password
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise InvalidOrigin(f"{value[:100]!r} must be only scheme, host and port, {example}")
    try:
        port = parts.port
    except ValueError:
        raise InvalidOrigin(f"{value[:100]!r} has an invalid port") from None
    host = parts.netloc.rsplit("@", 1)[-1].lower()
    host = host[: host.rindex(":")] if parts.port is not None or host.endswith(":") else host
    if not _HOST.fullmatch(host):
        raise InvalidOrigin(f"{value[:100]!r} has an invalid host name")
    default_port = 443 if parts.scheme == "https" else 80
    suffix = f":{port}" if port is not None and port != default_port else ""
    return f"{parts.scheme}://{host}{suffix}"


def create_workspace(name: str, origins: list[str], *, now: datetime) -> Workspace:
    normalised = sorted({normalise_origin(o) for o in origins})
    with transaction.write():
        workspace = Workspace(app_id=new_app_id(), name=name, require_jwt=False, created_at=now)
        workspace.origins = [AllowedOrigin(origin=o) for o in normalised]
        db.session.add(workspace)
    return workspace


def find_workspace(app_id: str) -> Workspace | None:
    """With its allowed origins in the same round trip: every browser call checks them."""
    query = (
        select(Workspace).options(joinedload(Workspace.origins)).where(Workspace.app_id == app_id)
    )
    return db.session.execute(query).unique().scalar_one_or_none()


def get_workspace(app_id: str) -> Workspace:
    """The workspace of `app_id`, or `404 unknown_app`."""
    workspace = find_workspace(app_id) if len(app_id) <= 64 else None
    if workspace is None:
        raise ApiError(
            "unknown_app",
            "No workspace has this app id; copy it from Settings › Messenger › Installation.",
        )
    return workspace


def origin_allowed(workspace: Workspace, origin: str) -> bool:
    """An empty list allows any origin; otherwise the exact scheme://host[:port] must be listed."""
    allowed = {o.origin for o in workspace.origins}
    if not allowed:
        return True
    try:
        return normalise_origin(origin) in allowed
    except InvalidOrigin:
        return False


def set_origins(
    workspace: Workspace,
    origins: list[str],
    *,
    now: datetime | None = None,
    actor: Actor = audit.SYSTEM,
) -> None:
    """Make the allowed origins exactly `origins`; rows that stay are kept (the unique key
    (workspace, origin) would refuse deleting and re-inserting them in one flush). The audit log
    records `origins.changed` with the origins added and removed, when there are any."""
    wanted = {normalise_origin(o) for o in origins if o.strip()}
    with transaction.write():
        kept = [row for row in workspace.origins if row.origin in wanted]
        present = {row.origin for row in kept}
        removed = sorted(row.origin for row in workspace.origins if row.origin not in wanted)
        added = sorted(wanted - present)
        workspace.origins = kept + [AllowedOrigin(origin=o) for o in added]
        if added or removed:
            audit.record(
                AuditAction.ORIGINS_CHANGED,
                actor=actor,
                now=now,
                workspace_id=workspace.id,
                details={"added": added, "removed": removed, "count": len(wanted)},
            )


def set_require_jwt(
    workspace: Workspace, required: bool, *, now: datetime, actor: Actor = audit.SYSTEM
) -> int:
    """Switch signed identification on or off. On, it ends every unverified session of an
    identified contact (docs/security.md, "Cascades"); returns how many sessions it ended.
    The audit log records `workspace.require_jwt` when the switch moved or sessions ended."""
    with transaction.write():
        before = workspace.require_jwt
        workspace.require_jwt = required
        ended = (
            sessions.end_unverified_identified_sessions(workspace.id, now=now) if required else 0
        )
        if before != required or ended:
            audit.record(
                AuditAction.REQUIRE_JWT,
                actor=actor,
                now=now,
                workspace_id=workspace.id,
                details={"before": before, "after": required, "sessions_ended": ended},
            )
        return ended
