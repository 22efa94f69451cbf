"""Sign-in and sign-out (Flask-Login), the user loader, and `role_required`."""

from __future__ import annotations

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

from promptify.extensions import db, limiter, login_manager
from promptify.forms import EmptyForm, LoginForm
from promptify.models import Operator
from promptify.services import operators

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_operator(operator_id: str) -> Operator | None:
    operator = db.session.get(Operator, int(operator_id)) if operator_id.isdigit() else None
    return operator if operator is not None and operator.active else None


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
            login_user(operator, remember=bool(form.remember.data))
            return redirect(_safe_next(request.args.get("next")), code=303)
        form.password.errors.append("Wrong email or password.")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"), code=303)
