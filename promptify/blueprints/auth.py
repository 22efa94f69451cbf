"""Sign-in and sign-out (Flask-Login), the user loader, and `role_required`."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE

from promptify.extensions import db, limiter, login_manager
from promptify.forms import EmptyForm, LoginForm
from promptify.models import Operator
from promptify.services import operators

bp = Blueprint("auth", __name__)


# A console session ends when the operator's password changes (docs/security.md, "Console
# sessions"): what Flask-Login keeps in the session, and copies into the remember-me cookie, is
# "<operator id>:<session generation>"; the loader refuses it once the generation has moved on.
# Sessions signed before generations existed carry the id alone: generation 0.
_SESSION_KEY = re.compile(r"(?P<id>[0-9]{1,10})(?::(?P<generation>[0-9]{1,10}))?")


def session_key(operator: Operator) -> str:
    """What a console session and its remember-me cookie carry for `operator`."""
    return f"{operator.id}:{operator.session_generation}"


@login_manager.user_loader
def _load_operator(key: str) -> Operator | None:
    match = _SESSION_KEY.fullmatch(key)
    if match is None:
        return None
    operator = db.session.get(Operator, int(match["id"]))
    if operator is None or not operator.active:
        return None
    if operator.session_generation != int(match["generation"] or 0):
        session["_remember"] = "clear"  # Flask-Login deletes this browser's remember-me cookie
        return None
    return operator


def sign_in(operator: Operator, *, remember: bool) -> None:
    """Start a console session for `operator` (and a remember-me cookie when asked)."""
    login_user(operator, remember=remember)
    session["_user_id"] = session_key(operator)


def keep_this_session(operator: Operator) -> None:
    """After the operator's session generation was raised: this session (and this browser's
    remember-me cookie, if it has one) carries the new generation and continues; others end."""
    session["_user_id"] = session_key(operator)
    if current_app.config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE) in request.cookies:
        session["_remember"] = "set"  # written again from the new key by Flask-Login


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


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so `?next=` cannot send an operator elsewhere."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("inbox.index")


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
        operator = operators.authenticate(form.email.data or "", form.password.data or "")
        if operator is not None:
            session.clear()  # a fresh session (and CSRF token) for the signed-in operator
            sign_in(operator, remember=bool(form.remember.data))
            return redirect(_safe_next(request.args.get("next")), code=303)
        form.password.errors.append("Wrong email or password.")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    session.clear()
    logout_user()  # after clear(): it marks the remember-me cookie for deletion in the session
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"), code=303)
