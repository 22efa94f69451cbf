"""§2.1 identify: anonymous, unsigned and signed identification in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, OperationalError

from promptify.extensions import db
from promptify.identity.errors import IdentifyError
from promptify.identity.merge import apply_payload, fill_from_anonymous
from promptify.identity.payload import UserPayload, parse_user_payload
from promptify.identity.tokens import VerifiedToken, verify_jwt
from promptify.models import Contact, Conversation, UsedJti, WidgetSession, Workspace
from promptify.services import contacts as contacts_service
from promptify.services import keys as keys_service
from promptify.services.sessions import end_session, find_session, issue_session

MAX_ATTEMPTS = 5
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


@dataclass(frozen=True)
class IdentifyResult:
    session_token: str
    contact: dict[str, Any]


@dataclass(frozen=True)
class _Request:
    payload: UserPayload
    token: VerifiedToken | None
    session_token: str | None
    user_agent: str | None
    now: datetime
    page_url: str | None = None


def identify(
    workspace: Workspace,
    body: dict[str, Any],
    *,
    session_token: str | None,
    user_agent: str | None,
    now: datetime,
    page_url: str | None = None,
) -> IdentifyResult:
    """Identify the widget user described by `body` (the object given to `setUser`).

    Everything is written in one transaction, or nothing is. Unique-constraint races (two first
    identifies of one user) are retried; a `jti` race is a replay.
    """
    token = _verify_token(workspace, body, now) if "jwt" in body else None
    if token is None:
        if body.get("id") is not None and workspace.require_jwt:
            raise IdentifyError(
                "jwt_required",
                "This workspace requires signed identification: sign a JWT on your server "
                "and call setUser({jwt}).",
            )
        payload = parse_user_payload(body)
    else:
        payload = parse_user_payload(token.claims, signed=True)
    request = _Request(payload, token, session_token, user_agent, now, page_url)
    for _attempt in range(MAX_ATTEMPTS):
        try:
            result = _identify_once(workspace, request)
            db.session.commit()
            return result
        except IdentifyError:
            db.session.rollback()
            raise
        except IntegrityError:
            db.session.rollback()
        except OperationalError as error:
            db.session.rollback()
            if getattr(error.orig, "sqlstate", None) not in RETRYABLE_SQLSTATES:
                raise
    raise IdentifyError("unavailable", "Too much contention on this user; retry the call.")


def _verify_token(workspace: Workspace, body: dict[str, Any], now: datetime) -> VerifiedToken:
    if set(body) != {"jwt"}:
        extra = sorted(set(body) - {"jwt"})[0]
        raise IdentifyError(
            "invalid_field",
            "Send {jwt} alone: put user fields inside the signed token, never next to it.",
            extra,
        )
    if not isinstance(body["jwt"], str):
        raise IdentifyError("invalid_field", "jwt must be a string (a compact JWS).", "jwt")
    config = current_app.config
    return verify_jwt(
        body["jwt"],
        keys_service.usable_keys(workspace, now=now),
        app_id=workspace.app_id,
        now=now,
        leeway=int(config["JWT_LEEWAY_SECONDS"]),
        max_lifetime=int(config["MAX_TOKEN_LIFETIME_SECONDS"]),
    )


def _identify_once(workspace: Workspace, request: _Request) -> IdentifyResult:
    if request.token is not None and request.token.jti is not None:
        _consume_jti(workspace, request.token, request.now)
    idle = timedelta(seconds=int(current_app.config["SESSION_IDLE_SECONDS"]))
    found = find_session(workspace.id, request.session_token, now=request.now, idle=idle)
    session, previous = found if found is not None else (None, None)
    if request.payload.anonymous:
        return _identify_anonymous(workspace, request, session, previous)
    return _identify_user(workspace, request, session, previous)


def _identify_anonymous(
    workspace: Workspace, request: _Request, session: WidgetSession | None, previous: Contact | None
) -> IdentifyResult:
    """Tracking for an anonymous session; a fresh anonymous visitor otherwise (incl. logout)."""
    if session is not None and previous is not None and previous.anonymous:
        contact, kept_session = previous, session
        token = request.session_token
    else:
        if session is not None:
            end_session(session)  # logout: the identified contact's session dies with it
        contact, kept_session = contacts_service.new_contact(workspace.id, None, now=request.now), None
        token = issue_session(workspace.id, contact.id, verified=False, now=request.now)
    contacts_service.save_profile(contact, apply_payload(contacts_service.profile_of(contact), request.payload))
    _touch(contact, kept_session, request, created=kept_session is None)
    assert token is not None
    return IdentifyResult(token, contacts_service.contact_json(contact))


def _identify_user(
    workspace: Workspace, request: _Request, session: WidgetSession | None, previous: Contact | None
) -> IdentifyResult:
    payload, verified = request.payload, request.token is not None
    assert payload.external_id is not None
    if previous is not None and previous.external_id == payload.external_id:
        contact: Contact | None = previous  # the session's own user: no second lookup
    else:
        contact = contacts_service.find_by_external_id(workspace.id, payload.external_id)
    if contact is not None and contact.verified and not verified:
        raise IdentifyError(
            "verified_contact_requires_jwt",
            "This user was identified with a signed JWT before; identify them with a signed JWT again.",
        )
    created = contact is None
    if contact is None:
        contact = contacts_service.new_contact(workspace.id, payload.external_id, now=request.now)
    profile = apply_payload(contacts_service.profile_of(contact), payload)
    organizations = None
    if payload.organizations is not None:
        organizations = contacts_service.sync_organizations(
            workspace.id, contact, payload.organizations, now=request.now
        )
    token = request.session_token
    if session is not None and previous is not None and previous.id == contact.id:
        if verified and not session.verified:
            session.verified = True
    else:
        if session is not None and previous is not None and previous.anonymous:
            profile = fill_from_anonymous(profile, contacts_service.profile_of(previous), payload)
            _absorb_anonymous(contact, previous)
        elif session is not None:
            end_session(session)  # user switch: the old user's session is not reused
        token = issue_session(workspace.id, contact.id, verified=verified, now=request.now)
        session = None
    contacts_service.save_profile(contact, profile)
    if verified and not contact.verified:
        contact.verified = True
    _touch(contact, session, request, created=created)
    assert token is not None
    return IdentifyResult(token, contacts_service.contact_json(contact, organizations))


def _absorb_anonymous(contact: Contact, anonymous: Contact) -> None:
    """Move the anonymous visitor's conversations over, then delete it with its sessions."""
    db.session.execute(
        update(Conversation).where(Conversation.contact_id == anonymous.id).values(contact_id=contact.id)
    )
    if anonymous.first_seen_at < contact.first_seen_at:
        contact.first_seen_at = anonymous.first_seen_at
    db.session.execute(delete(WidgetSession).where(WidgetSession.contact_id == anonymous.id))
    db.session.delete(anonymous)


def _consume_jti(workspace: Workspace, token: VerifiedToken, now: datetime) -> None:
    """§2.1 one-time jti: the unique (workspace, jti) row is the guard, so concurrent uses on
    different processes cannot both pass. A row whose token expired no longer blocks the value."""
    assert token.jti is not None
    db.session.execute(
        delete(UsedJti).where(
            UsedJti.workspace_id == workspace.id, UsedJti.jti == token.jti, UsedJti.expires_at < now
        )
    )
    leeway = timedelta(seconds=int(current_app.config["JWT_LEEWAY_SECONDS"]))
    db.session.add(UsedJti(workspace_id=workspace.id, jti=token.jti, expires_at=token.expires_at + leeway))
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise IdentifyError(
            "jwt_replayed",
            "This token's jti was already used; mint a new token (with a new jti) for every call.",
            token_header=token.header,
            token_claims=token.claims,
        ) from None


def _touch(contact: Contact, session: WidgetSession | None, request: _Request, *, created: bool) -> None:
    """Throttled bookkeeping, so an unchanged identify on every page load rewrites nothing."""
    throttle = timedelta(seconds=int(current_app.config["LAST_SEEN_THROTTLE_SECONDS"]))
    if not created and request.now - contact.last_seen_at < throttle:
        return  # browsing from page to page is not a change worth a write on every load
    contact.last_seen_at = request.now
    if session is not None:
        session.last_used_at = request.now
    user_agent = (request.user_agent or "")[:512] or None
    if user_agent and contact.user_agent != user_agent:
        contact.user_agent = user_agent
    if request.page_url and contact.last_page_url != request.page_url:  # checked by the caller
        contact.last_page_url = request.page_url

