"""Settings › Audit log (admins): every change to keys, signed identification, origins and
operators, and every console sign-in, newest first, filtered, and downloadable as CSV
(docs/operations.md, "The console"; what is recorded: docs/security.md, "Audit log").

Also `current_actor()`: who the signed-in operator is and from which address, for the views
that call an audited service.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from promptify import clock
from promptify.blueprints.auth import role_required
from promptify.extensions import db
from promptify.models import AuditAction, AuditEvent, Operator, Workspace
from promptify.services import audit
from promptify.services.audit import Actor

bp = Blueprint("audit", __name__, url_prefix="/settings/audit")

PAGE = "settings/audit.html"
PER_PAGE = 50

ACTION_LABELS = {
    AuditAction.KEY_ADDED: "Key added",
    AuditAction.KEY_REPLACED: "Key replaced",
    AuditAction.KEY_REVOKED: "Key revoked",
    AuditAction.REQUIRE_JWT: "Signed identification switched",
    AuditAction.ORIGINS_CHANGED: "Allowed origins changed",
    AuditAction.OPERATOR_CREATED: "Operator added",
    AuditAction.OPERATOR_ROLE_CHANGED: "Operator role changed",
    AuditAction.OPERATOR_DISABLED: "Operator deactivated",
    AuditAction.OPERATOR_ENABLED: "Operator re-activated",
    AuditAction.OPERATOR_PASSWORD_RESET: "Operator password reset",
    AuditAction.SIGN_IN_SUCCEEDED: "Sign-in",
    AuditAction.SIGN_IN_FAILED: "Sign-in refused",
}
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ID = re.compile(r"[0-9]{1,10}")  # ASCII digits only (int() also reads other scripts' digits)


def current_actor() -> Actor:
    """The signed-in operator making a change: their id, their email, the client's address."""
    return Actor(operator_id=current_user.id, label=current_user.email, address=request.remote_addr)


def action_label(action: str) -> str:
    try:
        return ACTION_LABELS.get(AuditAction(action), action)
    except ValueError:
        return action


# --- the filters, from the query string -----------------------------------------------------


@dataclass
class Query:
    """The filters as typed (shown again in the form) and as understood, with an error per
    field that could not be understood."""

    values: dict[str, str]
    filters: audit.Filters = audit.Filters()
    before: audit.Cursor | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def link_args(self) -> dict[str, str]:
        """The filters for a link (pages, the download), without empty ones."""
        return {name: value for name, value in self.values.items() if value and name != "before"}


def _zone() -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(str(current_user.time_zone or "UTC"))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def _day_start(text: str, zone: tzinfo, *, next_day: bool = False) -> datetime | None:
    """Midnight at the start of the day `text` (YYYY-MM-DD) in `zone`, in UTC; with `next_day`,
    the midnight that ends it. None when that is beyond what a time can be (year 1 or 9999: no
    bound); ValueError when `text` is no such day."""
    if not _DAY.fullmatch(text):
        raise ValueError(text)
    day = date.fromisoformat(text)
    try:
        if next_day:
            day += timedelta(days=1)
        return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return None


def parse_query(args: MultiDict[str, str]) -> Query:
    names = ("action", "operator", "workspace", "from", "to", "before")
    values = {name: args.get(name, "").strip()[:100] for name in names}
    errors: dict[str, str] = {}
    action = operator_id = workspace_id = since = until = before = None
    if values["action"]:
        try:
            action = AuditAction(values["action"])
        except ValueError:
            errors["action"] = "Choose an action from the list."
    if values["operator"]:
        number = int(values["operator"]) if _ID.fullmatch(values["operator"]) else 0
        if 0 < number <= audit.MAX_ID:
            operator_id = number
        else:
            errors["operator"] = "Choose an operator from the list."
    if values["workspace"]:
        workspace_id = db.session.scalar(
            select(Workspace.id).where(Workspace.app_id == values["workspace"])
        )
        if workspace_id is None:
            errors["workspace"] = "No workspace has this app id; choose one from the list."
    zone = _zone()
    if values["from"]:
        try:
            since = _day_start(values["from"], zone)
        except ValueError:
            errors["from"] = "Enter the first day as YYYY-MM-DD, e.g. 2026-12-01."
    if values["to"]:
        try:
            until = _day_start(values["to"], zone, next_day=True)
        except ValueError:
            errors["to"] = "Enter the last day as YYYY-MM-DD, e.g. 2026-12-31."
    if since is not None and until is not None and until <= since:
        errors["to"] = "The last day is before the first day."
    if values["before"]:
        try:
            before = audit.Cursor.parse(values["before"])
        except audit.BadCursor as error:
            errors["before"] = str(error)
    filters = audit.Filters(action, operator_id, workspace_id, since, until)
    return Query(values, filters, before, errors)


# --- the page and the download --------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    event: AuditEvent
    label: str
    workspace: Workspace | None
    summary: str
    details: str | None  # pretty JSON, for the template to escape


def _rows(events: list[AuditEvent], workspaces: dict[int, Workspace]) -> list[Row]:
    return [
        Row(
            event=event,
            label=action_label(event.action),
            workspace=workspaces.get(event.workspace_id) if event.workspace_id else None,
            summary=audit.describe(event),
            details=json.dumps(event.details, indent=2, ensure_ascii=False, sort_keys=True)
            if event.details
            else None,
        )
        for event in events
    ]


@bp.get("")
@role_required("admin")
def index() -> ResponseReturnValue:
    query = parse_query(request.args)
    workspaces = list(db.session.scalars(select(Workspace).order_by(Workspace.name, Workspace.id)))
    operators = list(db.session.scalars(select(Operator).order_by(Operator.email)))
    if query.errors:
        page = audit.Page([], None)
    else:
        page = audit.page(query.filters, before=query.before, limit=PER_PAGE)
    context = {
        "query": query,
        "rows": _rows(page.events, {w.id: w for w in workspaces}),
        "older": str(page.older) if page.older else None,
        "actions": [(action.value, action_label(action)) for action in AuditAction],
        "operators": operators,
        "audit_workspaces": workspaces,
        "time_zone": str(current_user.time_zone or "UTC"),
    }
    return render_template(PAGE, **context), 400 if query.errors else 200


@bp.get("/events.csv")
@role_required("admin")
def download() -> ResponseReturnValue:
    """The filtered events (every page of them) as CSV, newest first."""
    query = parse_query(request.args)
    query.errors.pop("before", None)  # the download starts at the newest event anyway
    if query.errors:
        message = " ".join(f"{name}: {error}" for name, error in query.errors.items())
        return Response(message + "\n", status=400, mimetype="text/plain")
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    return Response(
        stream_with_context(audit.csv_rows(query.filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="promptify-audit-{stamp}.csv"'},
    )
