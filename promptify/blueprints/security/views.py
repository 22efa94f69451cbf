"""Settings › Messenger › Security: keys, require-signed switch, token tester, failure log
(docs/operations.md, "The console").

Admins only. Plain forms work without JavaScript: a successful post redirects (303), a refused
one re-renders the page with 422. htmx posts get the re-rendered fragment instead.
A pasted key is never echoed back, since it may be a private key
(docs/security.md, "What is never logged").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, render_template, url_for
from flask.typing import ResponseReturnValue

from promptify import clock
from promptify.blueprints.audit import current_actor
from promptify.blueprints.auth import role_required
from promptify.blueprints.console import bound_to_workspace, current_workspace, id_arg
from promptify.blueprints.security import countdown
from promptify.config import current_policy
from promptify.forms import KeyForm, RequireJwtForm, RevokeKeyForm, TokenTesterForm
from promptify.htmx import fragment_or_page, fragment_or_redirect
from promptify.identity.keys import KeyRejected
from promptify.identity.tokens import CheckStep
from promptify.models import SigningKey, Workspace
from promptify.services import failures, security_overview, token_check, workspaces
from promptify.services import keys as keys_service

bp = Blueprint("security", __name__, url_prefix="/settings/messenger")

PAGE = "settings/security.html"
FAILURES_PER_PAGE = 20
MAX_FAILURE_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL


@dataclass(frozen=True)
class KeyRow:
    key: SigningKey
    status: str  # "current" | "retiring" | "revoked" | "expired"
    algorithms: list[str]
    until: datetime | None
    until_text: str | None  # "14:32 UTC"
    left_text: str | None  # "1 h 12 min left"
    usage: keys_service.KeyUsage | None = None


def _sessions(count: int, kind: str = "") -> str:
    """`3 sessions`, `1 unverified session`."""
    noun = "session" if count == 1 else "sessions"
    return f"{count} {kind + ' ' if kind else ''}{noun}"


# --- pages and fragments --------------------------------------------------------------------


@bp.get("/security")
@role_required("admin")
def index() -> ResponseReturnValue:
    workspace, now = current_workspace(), clock.now()
    return render_template(PAGE, **_page(workspace, now))


@bp.get("/security/failures")
@role_required("admin")
def failure_log() -> ResponseReturnValue:
    """One page of the failure log; the full page (with that log page) without htmx."""
    workspace, now = current_workspace(), clock.now()
    before = id_arg("before")  # an id beyond the column's range is no page: the newest then
    return _render(
        workspace, now, "settings/_failures.html", **_failures_context(workspace, before)
    )


@bp.post("/security/keys")
@role_required("admin")
@bound_to_workspace("security.index")
def add_key() -> ResponseReturnValue:
    workspace, now = current_workspace(), clock.now()
    form = KeyForm()
    was_current = {
        row.key.thumbprint for row in _key_rows(workspace, now) if row.status == "current"
    }
    added = None
    if form.validate_on_submit():
        try:
            added = keys_service.add_key(
                workspace, form.pem.data or "", now=now, actor=current_actor()
            )
        except KeyRejected as error:
            form.pem.errors.append(
                error.message
            )  # "Never paste a private key…", "RSA keys must be…"
    form.pem.data = ""  # never echo the paste: it may be a private key
    if added is None:
        return _render(workspace, now, "settings/_key_form.html", 422, **_key_form_context(form))
    notice = _added_notice(workspace, added, was_current, now)
    return fragment_or_redirect(
        "settings/_key_form.html",
        _key_form_context(KeyForm(formdata=None), notice),
        oob=[
            ("settings/_key_list.html", _keys_context(workspace, now)),
            ("settings/_require_jwt.html", _require_context(workspace, now)),
        ],
        redirect_to=url_for(".index", _anchor="keys"),
        flash=notice,
    )


@bp.post("/security/keys/revoke")
@role_required("admin")
@bound_to_workspace("security.index")
def revoke_key() -> ResponseReturnValue:
    workspace, now = current_workspace(), clock.now()
    form = RevokeKeyForm()
    if not form.validate_on_submit():
        abort(400)
    thumbprint = form.thumbprint.data or ""
    if not form.confirm.data:
        error = "Tick the box to confirm: tokens signed with this key stop working at once."
        context = {
            **_keys_context(workspace, now),
            "revoke_error": error,
            "revoke_thumbprint": thumbprint,
        }
        return _render(workspace, now, "settings/_key_list.html", 422, **context)
    try:
        revocation = keys_service.revoke_key(workspace, thumbprint, now=now, actor=current_actor())
    except keys_service.UnknownKey:
        abort(404)
    key, ended = revocation.key, revocation.sessions_ended
    notice = (
        f"The {key.key_type} key {key.thumbprint[:12]}… is revoked: "
        f"tokens signed with it are refused from now on, and the {_sessions(ended)} it verified "
        f"{'has' if ended == 1 else 'have'} ended."
    )
    return fragment_or_redirect(
        "settings/_key_list.html",
        {**_keys_context(workspace, now), "list_notice": notice},
        oob=[("settings/_require_jwt.html", _require_context(workspace, now))],
        redirect_to=url_for(".index", _anchor="keys"),
        flash=notice,
    )


@bp.post("/security/require-jwt")
@role_required("admin")
@bound_to_workspace("security.index")
def require_jwt() -> ResponseReturnValue:
    workspace, now = current_workspace(), clock.now()
    form = RequireJwtForm()
    if not form.validate_on_submit():
        abort(400)
    ended = workspaces.set_require_jwt(
        workspace, bool(form.require_jwt.data), now=now, actor=current_actor()
    )
    if workspace.require_jwt:
        notice = (
            "Signed identification is now required: setUser calls without a valid JWT are refused, "
            f"and {_sessions(ended, 'unverified')} of identified users ended."
        )
    else:
        notice = "Signed identification is no longer required: unsigned setUser calls are accepted again."
    return fragment_or_redirect(
        "settings/_require_jwt.html",
        {**_require_context(workspace, now), "require_notice": notice},
        redirect_to=url_for(".index", _anchor="require-jwt"),
        flash=notice,
    )


@bp.post("/security/token-test")
@role_required("admin")
@bound_to_workspace("security.index")
def test_token() -> ResponseReturnValue:
    """Read-only: the tester never consumes a jti and never writes a contact (token_check)."""
    workspace, now = current_workspace(), clock.now()
    form = TokenTesterForm()
    if not form.validate_on_submit():
        return _render(workspace, now, "settings/_token_tester.html", 422, **_tester_context(form))
    steps = token_check.check_token(
        workspace, (form.token.data or "").strip(), now=now, policy=current_policy()
    )
    return _render(workspace, now, "settings/_token_tester.html", **_tester_context(form, steps))


# --- context builders -----------------------------------------------------------------------


def _page(workspace: Workspace, now: datetime, **overrides: Any) -> dict[str, Any]:
    return {
        **_keys_context(workspace, now),
        **_key_form_context(KeyForm(formdata=None)),
        **_require_context(workspace, now),
        **_tester_context(TokenTesterForm(formdata=None)),
        **_failures_context(workspace, None),
        "origins_empty": not workspace.origins,
        **overrides,
    }


def _key_form_context(form: KeyForm, notice: str | None = None) -> dict[str, Any]:
    return {
        "key_form": form,
        "key_notice": notice,
        "grace_text": countdown.duration(current_policy().key_grace),
    }


def _key_rows(workspace: Workspace, now: datetime) -> list[KeyRow]:
    usage = keys_service.usage(workspace, now=now)
    return [
        KeyRow(
            key=s.key,
            status=s.status,
            algorithms=s.key.algorithms.split(","),
            until=s.usable_until,
            until_text=countdown.clock_time(s.usable_until, now) if s.usable_until else None,
            left_text=countdown.time_left(s.usable_until, now) if s.usable_until else None,
            usage=usage.get(s.key.thumbprint),
        )
        for s in keys_service.list_keys(workspace, now=now, policy=current_policy())
    ]


def _keys_context(workspace: Workspace, now: datetime) -> dict[str, Any]:
    rows = _key_rows(workspace, now)
    retiring = [row for row in rows if row.status == "retiring"]
    last = max(retiring, key=lambda row: row.until or now) if retiring else None
    return {
        "key_rows": rows,
        "has_current": any(row.status == "current" for row in rows),
        "last_retiring": last,
        "list_notice": None,
        "revoke_error": None,
        "revoke_thumbprint": None,
    }


def _require_context(workspace: Workspace, now: datetime) -> dict[str, Any]:
    return {
        "require_form": RequireJwtForm(formdata=None),
        "require_notice": None,
        "unsigned_count": security_overview.count_recent_unsigned_contacts(workspace, now),
        "has_usable_key": bool(
            keys_service.usable_keys(workspace, now=now, policy=current_policy())
        ),
    }


def _tester_context(form: TokenTesterForm, steps: list[CheckStep] | None = None) -> dict[str, Any]:
    refused = next((step for step in steps if step.passed is False), None) if steps else None
    return {"tester_form": form, "steps": steps, "refused_step": refused}


def _failures_context(workspace: Workspace, before: int | None) -> dict[str, Any]:
    if before is not None:
        before = min(before, MAX_FAILURE_ID)
    page = failures.recent(workspace, before_id=before, limit=FAILURES_PER_PAGE)
    return {"failure_page": page, "failures_before": before, "as_json": _json_text}


def _json_text(document: Any) -> str:
    """Plain text for the template to autoescape (never `|safe`, never `tojson` in HTML)."""
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)


def _added_notice(
    workspace: Workspace, added: SigningKey, was_current: set[str], now: datetime
) -> str:
    name = f"{added.key_type} key {added.thumbprint[:12]}…"
    if added.thumbprint in was_current:
        return f"The {name} is already the current key; nothing changed."
    retiring = [
        row for row in _key_rows(workspace, now) if row.key.thumbprint in was_current and row.until
    ]
    if not retiring:
        return f"The {name} is now current."
    until = countdown.clock_time(retiring[0].until, now)  # type: ignore[arg-type]
    return (
        f"The {name} is now current. The previous key keeps working until {until} "
        "so your servers can switch over."
    )


# --- responses ------------------------------------------------------------------------------


def _render(
    workspace: Workspace, now: datetime, partial: str, status: int = 200, **context: Any
) -> Response:
    """The fragment for htmx (its own context only), else the whole page around it."""
    return fragment_or_page(
        PAGE, partial, context, page_context=lambda: _page(workspace, now), status=status
    )
