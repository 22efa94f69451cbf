"""Signing keys of a workspace (docs/security.md, "Keys"), shared by the settings form and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select

from promptify.extensions import db
from promptify.identity import keys as key_rules
from promptify.identity.keys import StoredKey
from promptify.models import AuditAction, SigningKey, WidgetSession, Workspace
from promptify.services import audit, sessions, transaction
from promptify.services.audit import Actor
from promptify.services.policy import Policy


class UnknownKey(LookupError):
    pass


class KeyState(StrEnum):
    CURRENT = "current"  # verifies tokens; the newest key
    RETIRING = "retiring"  # replaced, still verifying until its grace period ends
    REVOKED = "revoked"  # ended by an admin; verifies nothing
    EXPIRED = "expired"  # replaced and past its grace period


@dataclass(frozen=True)
class KeyStatus:
    key: SigningKey
    status: KeyState
    usable_until: datetime | None


def stored(key: SigningKey) -> StoredKey:
    return StoredKey(
        thumbprint=key.thumbprint,
        key_type=key.key_type,
        algorithms=tuple(key.algorithms.split(",")),
        spki_pem=key.spki_pem,
        created_at=key.created_at,
        retired_at=key.retired_at,
        revoked_at=key.revoked_at,
        last_verified_at=key.last_verified_at,
    )


def _keys_of(workspace: Workspace) -> list[SigningKey]:
    return list(
        db.session.scalars(
            select(SigningKey)
            .where(SigningKey.workspace_id == workspace.id)
            .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
        )
    )


def usable_keys(workspace: Workspace, *, now: datetime, policy: Policy) -> list[StoredKey]:
    return key_rules.usable_keys([stored(k) for k in _keys_of(workspace)], now, policy.key_grace)


def add_key(
    workspace: Workspace, pem_text: str, *, now: datetime, actor: Actor = audit.SYSTEM
) -> SigningKey:
    """Validate and make the key current; the previous current key starts its grace period.

    Re-adding the current key is a no-op; re-adding a retired or revoked key makes it current again.
    Raises KeyRejected with the admin-facing message. The audit log records `key.added`, or
    `key.replaced` when another key was current.
    """
    info = key_rules.parse_spki_pem(pem_text)
    with transaction.write():
        return _make_current(workspace, info, now=now, actor=actor)


def _make_current(
    workspace: Workspace, info: key_rules.PublicKeyInfo, *, now: datetime, actor: Actor
) -> SigningKey:
    keys = _keys_of(workspace)
    same = next((k for k in keys if k.thumbprint == info.thumbprint), None)
    if same is not None and same.retired_at is None and same.revoked_at is None:
        return same
    replaced = [k.thumbprint for k in keys if k is not same and k.retired_at is None]
    audit.record(
        AuditAction.KEY_REPLACED if replaced else AuditAction.KEY_ADDED,
        actor=actor,
        now=now,
        workspace_id=workspace.id,
        target=info.thumbprint,
        details={
            "key_type": info.key_type,
            "algorithms": list(info.algorithms),
            "replaced": replaced,
            "again": same is not None,  # a retired or revoked key made current again
        },
    )
    for key in keys:
        if key is not same and key.retired_at is None:
            key.retired_at = now  # a key's deadline is fixed once: replacing again never moves it
    if same is None:
        same = SigningKey(
            workspace_id=workspace.id,
            thumbprint=info.thumbprint,
            key_type=info.key_type,
            algorithms=",".join(info.algorithms),
            bits=info.bits,
            spki_pem=info.spki_pem,
            created_at=now,
        )
        db.session.add(same)
    else:
        if same.revoked_at is not None:
            # a session an identify recorded while it raced the revocation must not come back
            sessions.end_sessions_verified_by(workspace.id, same.thumbprint, now=now)
        same.retired_at = None
        same.revoked_at = None
    return same


@dataclass(frozen=True)
class Revocation:
    key: SigningKey
    sessions_ended: int


def revoke_key(
    workspace: Workspace, thumbprint: str, *, now: datetime, actor: Actor = audit.SYSTEM
) -> Revocation:
    """End a key's validity at once (a retired key's grace, or a leaked current key), and with
    it every session whose current verification came from it (docs/security.md, "Cascades").
    The audit log records `key.revoked` when the key was not revoked already."""
    with transaction.write():
        key = next((k for k in _keys_of(workspace) if k.thumbprint == thumbprint), None)
        if key is None:
            raise UnknownKey(f"no key with thumbprint {thumbprint[:80]!r} in this workspace")
        was = None
        if key.revoked_at is None:
            was = "current" if key.retired_at is None else "retired"
            key.revoked_at = now
            if key.retired_at is None:
                key.retired_at = now
            db.session.flush()  # the key row is locked before any session, as identify does
        ended = sessions.end_sessions_verified_by(workspace.id, key.thumbprint, now=now)
        if was is not None:
            audit.record(
                AuditAction.KEY_REVOKED,
                actor=actor,
                now=now,
                workspace_id=workspace.id,
                target=key.thumbprint,
                details={"key_type": key.key_type, "was": was, "sessions_ended": ended},
            )
    return Revocation(key, ended)


def list_keys(workspace: Workspace, *, now: datetime, policy: Policy) -> list[KeyStatus]:
    """Every key with its status (current, retiring, revoked, expired), newest first."""
    result = []
    for key in _keys_of(workspace):
        deadline = key_rules.grace_deadline(stored(key), policy.key_grace)
        if key.revoked_at is not None:
            status, until = KeyState.REVOKED, None
        elif deadline is None:
            status, until = KeyState.CURRENT, None
        elif now < deadline:
            status, until = KeyState.RETIRING, deadline
        else:
            status, until = KeyState.EXPIRED, None
        result.append(KeyStatus(key, status, until))
    return result


@dataclass(frozen=True)
class KeyUsage:
    last_verified_at: datetime | None  # within a minute (the write is throttled)
    sessions_24h: int  # sessions whose latest verification came from this key in the last 24 h


def usage(workspace: Workspace, *, now: datetime) -> dict[str, KeyUsage]:
    """Per thumbprint, so an admin sees when a retiring key is no longer used (one query)."""
    counts = dict(
        db.session.execute(
            select(WidgetSession.verified_key, func.count())
            .where(
                WidgetSession.workspace_id == workspace.id,
                WidgetSession.verified_key.is_not(None),
                WidgetSession.verified_at >= now - timedelta(hours=24),
            )
            .group_by(WidgetSession.verified_key)
        ).all()
    )
    return {
        key.thumbprint: KeyUsage(key.last_verified_at, int(counts.get(key.thumbprint, 0)))
        for key in _keys_of(workspace)
    }
