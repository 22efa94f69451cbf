"""Profile: every signed-in operator (admin or agent) sets their own display name, time zone and
email notifications, changes their password, sees and ends their console sessions, and sets up
two-factor sign-in (docs/operations.md, "The console").

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
    abort,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from markupsafe import Markup

from promptify import clock
from promptify.blueprints.auth import current_session_id, sign_out_here
from promptify.extensions import limiter
from promptify.forms import (
    DisplayNameForm,
    EmptyForm,
    NotificationsForm,
    PasswordChangeForm,
    TimeZoneForm,
    TwoFactorCodeForm,
    TwoFactorCredentialForm,
)
from promptify.htmx import client_redirect, render_page_or_partial
from promptify.models import Operator
from promptify.services import console_sessions, operators, two_factor

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
        "live_sessions": console_sessions.count_live(me, now=clock.now()),
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
                me,
                form.current_password.data or "",
                form.new_password.data or "",
                now=clock.now(),
                keep_session_id=current_session_id(),
            )
        except operators.ProfileRejected as rejected:
            getattr(form, rejected.field).errors.append(str(rejected))
        else:
            return _saved("Password changed. Your other console sessions are signed out.")
    return _refused("profile/_password.html", password_form=form)


# --- console sessions ---------------------------------------------------------------------------

SESSIONS_PAGE = "profile/sessions.html"

_BROWSERS = (  # the first that the user agent names (Edge and Opera also say Chrome and Safari)
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


@bp.app_template_filter("browser_name")
def browser_name(user_agent: str | None) -> str:
    """ "Firefox on Linux" for a user agent string; "Unknown browser" when it names none."""
    agent = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or (f"A browser on {system}" if system else "Unknown browser")


@bp.get("/sessions")
@login_required
def sessions() -> ResponseReturnValue:
    return render_template(
        SESSIONS_PAGE,
        sessions=console_sessions.list_for(_me(), now=clock.now()),
        this_session=current_session_id(),
        idle=_duration(int(current_app.config["CONSOLE_SESSION_IDLE_SECONDS"])),
    )


def _duration(seconds: int) -> str:
    """ "14 days", "12 hours", "90 minutes": how long an idle session lasts, in words."""
    if seconds >= 86400 and seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'' if days == 1 else 's'}"
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'' if hours == 1 else 's'}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


def _signed_out_here(message: str) -> ResponseReturnValue:
    sign_out_here()
    flash(message, "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int) -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    ended = console_sessions.end(_me(), session_id, now=clock.now())
    if session_id == current_session_id():
        return _signed_out_here("Signed out.")
    if ended:
        flash("Signed out: that browser has to sign in again.", "success")
    else:
        flash("That session had already ended.", "info")
    return redirect(url_for("profile.sessions"), code=303)


@bp.post("/sessions/end-all")
@login_required
def end_all_sessions() -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    console_sessions.end_all_of(_me(), now=clock.now())
    return _signed_out_here("Signed out everywhere, this browser included.")


# --- two-factor sign-in -------------------------------------------------------------------------

TWO_FACTOR_PAGE = "profile/two_factor.html"
CODES_PAGE = "profile/recovery_codes.html"


def _two_factor_context(**forms: Any) -> dict[str, Any]:
    me = _me()
    required = two_factor.is_required()
    context: dict[str, Any] = {
        "required": required,
        # nothing else of the console opens yet: the page shows no navigation
        "gated": required and not me.two_factor_enabled,
        "code_form": TwoFactorCodeForm(formdata=None),
        "disable_form": TwoFactorCredentialForm(formdata=None, prefix="disable"),
        "codes_form": TwoFactorCredentialForm(formdata=None, prefix="codes"),
        "start_form": EmptyForm(formdata=None),
        **forms,
    }
    if me.two_factor_enabled:
        context["recovery_codes_left"] = two_factor.remaining_recovery_codes(me)
    elif me.totp_pending_secret:
        secret = me.totp_pending_secret
        context["secret"] = secret
        context["secret_groups"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        context["qr_code"] = two_factor.qr_code_data_uri(two_factor.provisioning_uri(me, secret))
    return context


def _two_factor_attempts_key() -> str:
    return f"profile-two-factor|{current_user.get_id() or request.remote_addr}"


def _limited_like_sign_in(view: Any) -> Any:
    """Wrong codes and passwords (422) count against the operator's sign-in rate limit."""
    return limiter.limit(
        lambda: current_app.config["LOGIN_RATE_LIMIT"],
        key_func=_two_factor_attempts_key,
        deduct_when=lambda response: response.status_code == 422,
    )(view)


@bp.get("/two-factor", endpoint="two_factor")
@login_required
def two_factor_page() -> ResponseReturnValue:
    return render_template(TWO_FACTOR_PAGE, **_two_factor_context())


@bp.post("/two-factor/start")
@login_required
def start_two_factor() -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        two_factor.begin_enrolment(_me())
    except two_factor.TwoFactorRejected as rejected:
        flash(str(rejected), "info")
    return redirect(url_for("profile.two_factor"), code=303)


@bp.post("/two-factor/confirm")
@_limited_like_sign_in
@login_required
def confirm_two_factor() -> ResponseReturnValue:
    form = TwoFactorCodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(
                _me(), form.code.data or "", now=clock.now(), session_id=current_session_id()
            )
        except two_factor.TwoFactorRejected as rejected:
            form.code.errors.append(str(rejected))
        else:
            return render_template(CODES_PAGE, codes=codes, just_enabled=True)
    return render_template(TWO_FACTOR_PAGE, **_two_factor_context(code_form=form)), 422


@bp.post("/two-factor/recovery-codes")
@_limited_like_sign_in
@login_required
def new_recovery_codes() -> ResponseReturnValue:
    form = TwoFactorCredentialForm(prefix="codes")
    if form.validate_on_submit():
        try:
            codes = two_factor.new_recovery_codes(
                _me(), form.credential.data or "", now=clock.now()
            )
        except two_factor.TwoFactorRejected as rejected:
            form.credential.errors.append(str(rejected))
        else:
            return render_template(CODES_PAGE, codes=codes, just_enabled=False)
    return render_template(TWO_FACTOR_PAGE, **_two_factor_context(codes_form=form)), 422


@bp.post("/two-factor/disable")
@_limited_like_sign_in
@login_required
def disable_two_factor() -> ResponseReturnValue:
    form = TwoFactorCredentialForm(prefix="disable")
    if form.validate_on_submit():
        try:
            two_factor.disable(_me(), form.credential.data or "", now=clock.now())
        except two_factor.TwoFactorRejected as rejected:
            form.credential.errors.append(str(rejected))
        else:
            flash("Two-factor sign-in is off: your password alone signs you in.", "success")
            return redirect(url_for("profile.two_factor"), code=303)
    return render_template(TWO_FACTOR_PAGE, **_two_factor_context(disable_form=form)), 422
