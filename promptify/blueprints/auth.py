"""Sign-in (the password, then the second factor for operators who use it), sign-out, the user
loader that finds each request's console session, and `role_required`.

Console sessions are rows (docs/security.md, "Console sessions"): the signed session cookie
carries a random token in Flask-Login's `_user_id`, and the loader finds the live session it
belongs to. "Keep me signed in" makes the cookie outlive the browser (a permanent session) and
the session last `PERMANENT_SESSION_LIFETIME` from sign-in; Flask-Login's remember-me cookie is
never set, and one left from before is deleted unread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE

from promptify import clock
from promptify.blueprints.console import safe_next
from promptify.extensions import db, limiter, login_manager
from promptify.forms import EmptyForm, LoginForm, TwoFactorCodeForm
from promptify.htmx import client_redirect
from promptify.models import Operator, TwoFactorMethod
from promptify.services import audit, console_sessions, operators, two_factor

bp = Blueprint("auth", __name__)

# Between the password and the second factor, the session holds only this (no console session
# yet), for at most SECOND_STEP_SECONDS.
SECOND_STEP = "two_factor_sign_in"
SECOND_STEP_SECONDS = 300
# While an admin requires two-factor sign-in, an operator without it reaches only these.
ENROLMENT_ENDPOINTS = frozenset(
    {
        "profile.two_factor",
        "profile.start_two_factor",
        "profile.confirm_two_factor",
        "auth.login",
        "auth.logout",
    }
)
_NOT_CONSOLE = frozenset({"widget", "health"})
SET_UP_FIRST = "An admin requires two-factor sign-in: set it up to continue."


def _lifetimes() -> console_sessions.Lifetimes:
    return console_sessions.Lifetimes.from_config(current_app.config)


@login_manager.user_loader
def _load_operator(token: str) -> Operator | None:
    """The operator of the live console session `token` (from the session cookie) names."""
    now = clock.now()
    live = console_sessions.find_live(token, now=now)
    if live is None:
        return None
    g.console_session_id = live.session.id
    g.two_factor_required = live.two_factor_required
    console_sessions.touch(live, now=now, lifetimes=_lifetimes(), address=request.remote_addr)
    return live.operator


def current_session_id() -> int | None:
    """The id of the console session serving this request (None when signed out)."""
    if not current_user.is_authenticated:
        return None
    session_id: int | None = g.get("console_session_id")
    return session_id


@bp.before_app_request
def _console_request() -> ResponseReturnValue | None:
    """Every console request: an old remember-me cookie is deleted unread, the console session
    is looked up first (before a view writes anything), and while two-factor sign-in is
    required, an operator without it reaches only the page that sets it up."""
    if request.blueprint in _NOT_CONSOLE or request.endpoint in (None, "static"):
        return None
    if current_app.config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE) in request.cookies:
        session["_remember"] = "clear"  # Flask-Login deletes it (and does not read it)
    if not current_user.is_authenticated:
        return None
    if (
        g.get("two_factor_required")
        and not current_user.two_factor_enabled
        and request.endpoint not in ENROLMENT_ENDPOINTS
    ):
        if request.accept_mimetypes.best == "application/json":
            return jsonify(error=SET_UP_FIRST), 401
        return client_redirect(url_for("profile.two_factor"), flash=SET_UP_FIRST, category="info")
    return None


def sign_out_here() -> None:
    """This browser is signed out: its session cookie is emptied (its console session row is
    the caller's to end)."""
    session.clear()
    logout_user()  # after clear(): it marks an old remember-me cookie for deletion


def role_required(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuse (403) signed-in operators without `role`; anonymous users go to the login page."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role != role:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _login_key() -> str:
    email = (request.form.get("email") or "").strip().lower()[:320]
    return f"{request.remote_addr}|{email}"


def _start_session(operator: Operator, *, remember: bool, method: str | None) -> None:
    """A fresh cookie session (nothing from before sign-in survives, CSRF token included) that
    carries the token of a new console session."""
    session.clear()
    token, session_id = console_sessions.start(
        operator,
        now=clock.now(),
        lifetimes=_lifetimes(),
        remember=remember,
        user_agent=request.user_agent.string,
        address=request.remote_addr,
        two_factor=method,
    )
    login_user(operator)
    session["_user_id"] = token  # what the user loader receives
    session.permanent = remember  # the cookie outlives the browser only when asked
    g.console_session_id = session_id


def _record_sign_in(email: str, operator: Operator | None, succeeded: bool, **details: Any) -> None:
    audit.record_sign_in(
        email, operator, succeeded, request.remote_addr, clock.now(), details=details or None
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], key_func=_login_key
)
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    key_func=lambda: request.remote_addr or "",
)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        operator = operators.authenticate(email, form.password.data or "")
        if operator is None:
            _record_sign_in(email, None, False)
            form.password.errors.append("Wrong email or password.")
            return render_template("auth/login.html", form=form), 401
        target = safe_next(request.args.get("next"), url_for("inbox.index"))
        remember = bool(form.remember.data)
        if operator.two_factor_enabled:
            session.clear()
            session[SECOND_STEP] = {
                "operator": operator.id,
                "remember": remember,
                "next": target,
                "until": (clock.now() + timedelta(seconds=SECOND_STEP_SECONDS)).timestamp(),
            }
            return redirect(url_for("auth.second_factor"), code=303)
        _start_session(operator, remember=remember, method=None)
        _record_sign_in(email, operator, True)
        if two_factor.is_required():
            flash(SET_UP_FIRST, "info")
            return redirect(url_for("profile.two_factor"), code=303)
        return redirect(target, code=303)
    return render_template("auth/login.html", form=form)


def _pending_operator() -> tuple[Operator, dict[str, Any]] | None:
    """The operator whose password was right a moment ago and who is to give the second factor."""
    pending = session.get(SECOND_STEP)
    if not isinstance(pending, dict) or not isinstance(pending.get("operator"), int):
        return None
    if float(pending.get("until") or 0) < clock.now().timestamp():
        return None
    operator = db.session.get(Operator, pending["operator"])
    if operator is None or not operator.active or not operator.two_factor_enabled:
        return None
    return operator, pending


def _second_factor_key() -> str:
    pending = session.get(SECOND_STEP)
    who = pending.get("operator") if isinstance(pending, dict) else None
    return f"second-factor|{who if who is not None else request.remote_addr}"


@bp.route("/login/two-factor", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], key_func=_second_factor_key
)
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    key_func=lambda: request.remote_addr or "",
)
def second_factor() -> ResponseReturnValue:
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    found = _pending_operator()
    if found is None:
        session.pop(SECOND_STEP, None)
        flash("Sign in again: enter your email and password.", "info")
        return redirect(url_for("auth.login"), code=303)
    operator, pending = found
    form = TwoFactorCodeForm()
    if form.validate_on_submit():
        method = two_factor.verify_sign_in(operator, form.code.data or "", now=clock.now())
        if method is None:
            _record_sign_in(operator.email, operator, False, second_factor="refused")
            form.code.errors.append("That code is wrong, expired or was used already.")
            return render_template("auth/two_factor.html", form=form), 401
        _start_session(operator, remember=bool(pending.get("remember")), method=method)
        _record_sign_in(operator.email, operator, True, second_factor=str(method))
        if method == TwoFactorMethod.RECOVERY_CODE:
            left = two_factor.remaining_recovery_codes(operator)
            flash(
                f"You signed in with a recovery code, which now no longer works; {left} of them "
                "are left. Make new ones on your profile if you are running short.",
                "info",
            )
        return redirect(safe_next(pending.get("next"), url_for("inbox.index")), code=303)
    return render_template("auth/two_factor.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    session_id = current_session_id()
    if session_id is not None:
        console_sessions.end(current_user._get_current_object(), session_id, now=clock.now())  # type: ignore[attr-defined]
    sign_out_here()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"), code=303)
