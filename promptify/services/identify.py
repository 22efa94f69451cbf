"""Identify: anonymous, unsigned and signed identification in one transaction.

Concurrency (docs/security.md, "Concurrency guarantees"): the first pass reads without locks;
an identify that would change anything but the throttled bookkeeping takes the row locks
(PostgreSQL `FOR UPDATE`; on SQLite the write transaction already serializes writers) and runs
again on the freshly read rows, so concurrent identifies of one contact or organization keep
every accepted merge. Lock order: the identified
contact, then the session's contact (an anonymous one about to be merged), then organizations by
external id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from promptify.extensions import db
from promptify.identity import trust
from promptify.identity.errors import ApiError
from promptify.identity.keys import StoredKey
from promptify.identity.merge import apply_payload, fill_from_anonymous
from promptify.identity.payload import UserPayload, parse_user_payload
from promptify.identity.tokens import VerifiedToken, verify_jwt
from promptify.models import Contact, Conversation, SigningKey, UsedJti, WidgetSession, Workspace
from promptify.services import contacts as contacts_service
from promptify.services import keys as keys_service
from promptify.services import transaction
from promptify.services.conversations import changed_for_widget
from promptify.services.policy import Policy
from promptify.services.sessions import (
    FoundSession,
    Verification,
    end_session,
    end_unverified_sessions_of,
    find_session,
    issue_session,
    record_verification,
)

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class IdentifyResult:
    session_token: str
    contact: contacts_service.ContactSnapshot
    verified_until: datetime | None  # while the session is verified


@dataclass(frozen=True)
class _Request:
    payload: UserPayload
    token: VerifiedToken | None
    key: StoredKey | None  # the key that verified `token`
    session_token: str | None
    user_agent: str | None
    now: datetime
    policy: Policy
    page_url: str | None = None


def identify(
    workspace: Workspace,
    body: dict[str, Any],
    *,
    session_token: str | None,
    user_agent: str | None,
    now: datetime,
    policy: Policy,
    page_url: str | None = None,
) -> IdentifyResult:
    """Identify the widget user described by `body` (the object given to `setUser`).

    Everything is written in one transaction, or nothing is. Unique-constraint races (two first
    identifies of one user) and deadlocks are retried; a `jti` race is a replay.
    """
    token, key = _verify_token(workspace, body, now, policy) if "jwt" in body else (None, None)
    if token is None:
        if body.get("id") is not None and workspace.require_jwt:
            raise ApiError(
                "jwt_required",
                "This workspace requires signed identification: sign a JWT on your server "
                "and call setUser({jwt}).",
            )
        payload = parse_user_payload(body)
    else:
        payload = parse_user_payload(token.claims, signed=True)
    request = _Request(payload, token, key, session_token, user_agent, now, policy, page_url)
    for _attempt in range(MAX_ATTEMPTS):
        try:
            with transaction.write():
                return _identify_once(workspace, request)
        except (IntegrityError, StaleDataError):
            continue  # a concurrent first identify, or another tab's switch deleted our rows: again
        except OperationalError as error:
            if not transaction.is_retryable(error):
                raise
    raise ApiError("unavailable", "Too much contention on this user; retry the call.")


def _verify_token(
    workspace: Workspace, body: dict[str, Any], now: datetime, policy: Policy
) -> tuple[VerifiedToken, StoredKey]:
    if set(body) != {"jwt"}:
        extra = sorted(set(body) - {"jwt"})[0]
        raise ApiError(
            "invalid_field",
            "Send {jwt} alone: put user fields inside the signed token, never next to it.",
            extra,
        )
    if not isinstance(body["jwt"], str):
        raise ApiError("invalid_field", "jwt must be a string (a compact JWS).", "jwt")
    keys = keys_service.usable_keys(workspace, now=now, policy=policy)
    token = verify_jwt(
        body["jwt"],
        keys,
        app_id=workspace.app_id,
        now=now,
        leeway=int(policy.jwt_leeway.total_seconds()),
        max_lifetime=int(policy.max_token_lifetime.total_seconds()),
    )
    return token, next(k for k in keys if k.thumbprint == token.key_thumbprint)


def _identify_once(workspace: Workspace, request: _Request) -> IdentifyResult:
    if request.token is not None:
        _note_key_use(workspace, request)  # first: a revoke locks the key row before any session
        if request.token.jti is not None:
            _consume_jti(workspace, request.token, request.now, request.policy)
    found = find_session(workspace, request.session_token, now=request.now, policy=request.policy)
    result = _identify(workspace, request, found, locked=False)
    if result is None:  # something to write: lock in order, re-read, decide again
        if request.payload.external_id is not None:
            contacts_service.find_by_external_id(
                workspace.id, request.payload.external_id, lock=True
            )
        found = find_session(
            workspace, request.session_token, now=request.now, policy=request.policy, lock=True
        )
        result = _identify(workspace, request, found, locked=True)
    assert result is not None
    return result


def _identify(
    workspace: Workspace, request: _Request, found: FoundSession | None, *, locked: bool
) -> IdentifyResult | None:
    if request.payload.anonymous:
        return _identify_anonymous(workspace, request, found, locked=locked)
    return _identify_user(workspace, request, found, locked=locked)


def _identify_anonymous(
    workspace: Workspace, request: _Request, found: FoundSession | None, *, locked: bool
) -> IdentifyResult | None:
    """Tracking for an anonymous session; a fresh anonymous visitor otherwise (incl. logout).
    None when the tracked visitor's profile would change and its row is not locked yet."""
    if found is not None and found.contact.anonymous:
        contact, session, token = found.contact, found.session, request.session_token
        profile = apply_payload(contacts_service.profile_of(contact), request.payload)
        if profile != contacts_service.profile_of(contact) and not locked:
            return None
        created = False
    else:
        if found is not None:
            end_session(found.session)  # logout: the identified contact's session dies with it
        contact = contacts_service.new_contact(workspace.id, None, now=request.now)
        token, session = issue_session(workspace.id, contact.id, verification=None, now=request.now)
        profile = apply_payload(contacts_service.profile_of(contact), request.payload)
        created = True
    contacts_service.save_profile(contact, profile)
    _touch(contact, session, request, created=created)
    assert token is not None
    return IdentifyResult(token, contacts_service.snapshot(contact, []), None)


def _identify_user(
    workspace: Workspace, request: _Request, found: FoundSession | None, *, locked: bool
) -> IdentifyResult | None:
    """None when something besides throttled bookkeeping would be written and the rows are not
    locked yet; the caller then locks them and calls again."""
    payload, signed = request.payload, request.token is not None
    assert payload.external_id is not None
    session, previous = (found.session, found.contact) if found is not None else (None, None)
    contact: Contact | None
    if previous is not None and previous.external_id == payload.external_id:
        contact = previous  # the session's own user: no second lookup
    else:
        contact = contacts_service.find_by_external_id(
            workspace.id, payload.external_id, lock=locked
        )
    if contact is not None and contact.verified and not signed:
        raise ApiError(
            "verified_contact_requires_jwt",
            "This user was identified with a signed JWT before; identify them with a signed JWT again.",
        )
    same_session = session is not None and contact is not None and session.contact_id == contact.id
    current = contacts_service.organizations_of(contact.id) if contact is not None else []
    stored = contacts_service.profile_of(contact)
    profile = apply_payload(stored, payload, signed=signed)
    organizations_settled = payload.organizations is None or contacts_service.organizations_applied(
        current, payload.organizations, signed=signed
    )
    settled = (
        same_session
        and session is not None
        and session.ended_at is None
        and profile == stored
        and organizations_settled
        and (contact is not None and (contact.verified or not signed))
    )
    if not settled and not locked:
        return None

    created = contact is None
    if contact is None:
        contact = contacts_service.new_contact(workspace.id, payload.external_id, now=request.now)
    organizations = list(current)
    if not organizations_settled:
        assert payload.organizations is not None
        organizations = contacts_service.sync_organizations(
            workspace.id,
            contact,
            payload.organizations,
            current=current,
            signed=signed,
            now=request.now,
        )
    token = request.session_token
    if same_session:
        assert session is not None
        if session.ended_at is not None:
            session.ended_at = None  # same contact → same session: this identify renews it
    else:
        if session is not None and previous is not None and previous.anonymous:
            profile = fill_from_anonymous(profile, contacts_service.profile_of(previous), payload)
            _absorb_anonymous(contact, previous)
        elif session is not None:
            end_session(session)  # user switch: the old user's session is not reused
        session = None
    contacts_service.save_profile(contact, profile)
    verification = _verification(request)
    if signed and not contact.verified:
        contact.verified = True
        end_unverified_sessions_of(
            contact.id, keep=session.id if session is not None else None, now=request.now
        )
    if session is None:
        token, session = issue_session(
            workspace.id, contact.id, verification=verification, now=request.now
        )
    elif verification is not None and trust.needs_renewal(
        stored_key=session.verified_key,
        stored_at=session.verified_at,
        stored_until=session.verified_until,
        key=verification.key_thumbprint,
        now=request.now,
        throttle=request.policy.last_seen_throttle,
    ):
        record_verification(session, verification)
    _touch(contact, session, request, created=created)
    assert token is not None
    verified_until = session.verified_until if signed else None
    return IdentifyResult(token, contacts_service.snapshot(contact, organizations), verified_until)


def _verification(request: _Request) -> Verification | None:
    if request.token is None or request.key is None:
        return None
    until = trust.verified_until(
        request.now,
        request.policy.verified_session,
        request.key.retired_at,
        request.policy.key_grace,
    )
    return Verification(request.token.key_thumbprint, request.now, until)


def _absorb_anonymous(contact: Contact, anonymous: Contact) -> None:
    """Move the anonymous visitor's conversations over, then delete it with its sessions.
    Its row is locked (`find_session(lock=True)`), so a message posted on its session either
    committed before (and moves here) or finds the session gone (`session_required`)."""
    moved = db.session.execute(
        update(Conversation)
        .where(Conversation.contact_id == anonymous.id)
        .values(contact_id=contact.id)
    )
    if cast(CursorResult, moved).rowcount:
        changed_for_widget(contact.id)  # the widget's list now shows them
    if anonymous.first_seen_at < contact.first_seen_at:
        contact.first_seen_at = anonymous.first_seen_at
    db.session.execute(delete(WidgetSession).where(WidgetSession.contact_id == anonymous.id))
    db.session.delete(anonymous)


def _note_key_use(workspace: Workspace, request: _Request) -> None:
    """The key's last verification, for the Security page; throttled, so at most one write a
    minute per key however many visitors sign in."""
    assert request.key is not None
    throttle = request.policy.last_seen_throttle
    last = request.key.last_verified_at
    if last is not None and request.now - last < throttle:
        return
    db.session.execute(
        update(SigningKey)
        .where(
            SigningKey.workspace_id == workspace.id,
            SigningKey.thumbprint == request.key.thumbprint,
            (SigningKey.last_verified_at.is_(None))
            | (SigningKey.last_verified_at <= request.now - throttle),
        )
        .values(last_verified_at=request.now)
        .execution_options(synchronize_session=False)
    )


def _consume_jti(workspace: Workspace, token: VerifiedToken, now: datetime, policy: Policy) -> None:
    """One-time jti: the unique (workspace, jti) row is the guard, so concurrent uses on
    different processes cannot both pass. A row whose token expired no longer blocks the value."""
    assert token.jti is not None
    db.session.execute(
        delete(UsedJti).where(
            UsedJti.workspace_id == workspace.id, UsedJti.jti == token.jti, UsedJti.expires_at < now
        )
    )
    leeway = policy.jwt_leeway
    db.session.add(
        UsedJti(workspace_id=workspace.id, jti=token.jti, expires_at=token.expires_at + leeway)
    )
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise ApiError(
            "jwt_replayed",
            "This token's jti was already used; mint a new token (with a new jti) for every call.",
            token_header=token.header,
            token_claims=token.claims,
        ) from None


def _touch(
    contact: Contact, session: WidgetSession | None, request: _Request, *, created: bool
) -> None:
    """Throttled bookkeeping, so an unchanged identify on every page load rewrites nothing."""
    throttle = request.policy.last_seen_throttle
    if not created and request.now - contact.last_seen_at < throttle:
        return  # browsing from page to page is not a change worth a write on every load
    contact.last_seen_at = request.now
    if session is not None:
        session.last_used_at = request.now
    user_agent = "".join(ch for ch in (request.user_agent or "")[:512] if ch.isprintable()) or None
    if user_agent and contact.user_agent != user_agent:
        contact.user_agent = user_agent
    if request.page_url and contact.last_page_url != request.page_url:  # checked by the caller
        contact.last_page_url = request.page_url
