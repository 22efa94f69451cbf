"""Profile: every signed-in operator (admin or agent) sets their own display name, time zone and
email notifications, and changes their password (docs/operations.md, "The console").

Changing the password ends the operator's other console sessions (docs/security.md, "Console
sessions"); the one that changed it continues. Console pages show times in the operator's time
zone with the UTC time on hover: the `console_time` filter below, used by the `timestamp` macro.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, tzinfo
from functools import cache
from typing import Any

from flask import (
    Blueprint,
    current_app,
    has_request_context,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from markupsafe import Markup

from promptify import clock
from promptify.blueprints.auth import keep_this_session
from promptify.extensions import limiter
from promptify.forms import DisplayNameForm, NotificationsForm, PasswordChangeForm, TimeZoneForm
from promptify.htmx import client_redirect, render_page_or_partial
from promptify.models import Operator
from promptify.services import operators

bp = Blueprint("profile", __name__, url_prefix="/profile")

PAGE = "profile/index.html"
DEFAULT_TIME_FORMAT = "%Y-%m-%d %H:%M %Z"


# --- times in the operator's time zone ----------------------------------------------------------


@cache
def _zone(name: str) -> tzinfo:
    """The zone called `name`; UTC for a name this host's tz database does not know (never a 500
    because a stored name went missing)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def _operator_time_zone() -> str:
    if has_request_context() and current_user.is_authenticated:
        return str(current_user.time_zone or "UTC")
    return "UTC"


@bp.app_template_filter("console_time")
def console_time(
    value: datetime | None, format: str = DEFAULT_TIME_FORMAT, zone: str | None = None
) -> Markup:
    """A `<time>` element: the moment in the signed-in operator's time zone (or `zone`), its UTC
    time in `title` (shown on hover) and as ISO 8601 with `Z` in `datetime`; "—" for no time."""
    if value is None:
        return Markup("—")
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    local = utc.astimezone(_zone(zone or _operator_time_zone()))
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        utc.strftime("%Y-%m-%d %H:%M UTC"),
        local.strftime(format),
    )


# --- the page and its forms ---------------------------------------------------------------------


def _me() -> Operator:
    operator: Operator = current_user._get_current_object()  # type: ignore[attr-defined]
    return operator


def _context(**forms: Any) -> dict[str, Any]:
    """Every section's form, filled from the stored profile unless a submitted one is given."""
    me = _me()
    return {
        "name_form": DisplayNameForm(formdata=None, name=me.name),
        "time_zone_form": TimeZoneForm(formdata=None, time_zone=me.time_zone),
        "notifications_form": NotificationsForm(formdata=None, notify_email=me.notify_email),
        "password_form": PasswordChangeForm(formdata=None),
        "time_zones": sorted(operators.time_zone_names()),
        "now": clock.now(),
        **forms,
    }


def _refused(partial: str, **form: Any) -> ResponseReturnValue:
    """422 with the errors in the form: htmx swaps the section, plain posts get the whole page."""
    return render_page_or_partial(PAGE, partial, 422, **_context(**form))


def _saved(message: str) -> ResponseReturnValue:
    """The whole page again (the header's name and every time on it may have changed)."""
    return client_redirect(url_for("profile.index"), flash=message)


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    return render_template(PAGE, **_context())


@bp.post("/name")
@login_required
def save_name() -> ResponseReturnValue:
    form = DisplayNameForm()
    if form.validate_on_submit():
        try:
            operators.update_profile(_me(), name=form.name.data or "")
        except operators.ProfileRejected as rejected:
            form.name.errors.append(str(rejected))
        else:
            return _saved(f"Saved: visitors now see your replies as {_me().name}.")
    return _refused("profile/_name.html", name_form=form)


@bp.post("/time-zone")
@login_required
def save_time_zone() -> ResponseReturnValue:
    form = TimeZoneForm()
    if form.validate_on_submit():
        try:
            operators.update_profile(_me(), time_zone=form.time_zone.data or "")
        except operators.ProfileRejected as rejected:
            form.time_zone.errors.append(str(rejected))
        else:
            return _saved(f"Saved: the console shows times in {_me().time_zone}.")
    return _refused("profile/_time_zone.html", time_zone_form=form)


@bp.post("/notifications")
@login_required
def save_notifications() -> ResponseReturnValue:
    form = NotificationsForm()
    if form.validate_on_submit():
        operators.update_profile(_me(), notify_email=bool(form.notify_email.data))
        if _me().notify_email:
            return _saved("Saved: you get an email when a visitor's message waits unread.")
        return _saved("Saved: you get no notification emails.")
    return _refused("profile/_notifications.html", notifications_form=form)


def _password_attempts_key() -> str:
    return f"profile-password|{current_user.get_id() or request.remote_addr}"


@bp.post("/password")
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    key_func=_password_attempts_key,
    deduct_when=lambda response: response.status_code == 422,  # wrong guesses count
)
@login_required
def change_password() -> ResponseReturnValue:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        me = _me()
        try:
            operators.change_password(
                me, form.current_password.data or "", form.new_password.data or ""
            )
        except operators.ProfileRejected as rejected:
            getattr(form, rejected.field).errors.append(str(rejected))
        else:
            keep_this_session(me)
            return _saved("Password changed. Your other console sessions are signed out.")
    return _refused("profile/_password.html", password_form=form)
