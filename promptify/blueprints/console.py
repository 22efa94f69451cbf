"""The console's current workspace (one at a time, the oldest by default) and its switcher, and
what every console view takes from a request the same way: ids (in the range of our integer
columns) and the `next` page to go back to (same-site paths only)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from promptify.extensions import db
from promptify.forms import EmptyForm
from promptify.htmx import client_redirect
from promptify.models import Workspace
from promptify.services.search import in_id_range, parse_id

bp = Blueprint("console", __name__)


def all_workspaces() -> list[Workspace]:
    if "all_workspaces" not in g:
        g.all_workspaces = list(
            db.session.scalars(select(Workspace).order_by(Workspace.created_at, Workspace.id))
        )
    return g.all_workspaces


def current_workspace() -> Workspace:
    """The workspace chosen in the header, or the oldest one; 404 when there is none yet."""
    workspaces = all_workspaces()
    chosen = session.get("workspace")
    for workspace in workspaces:
        if workspace.app_id == chosen:
            return workspace
    if not workspaces:
        abort(404, "No workspace yet: create one with `promptify workspace create NAME`.")
    return workspaces[0]


@bp.app_context_processor
def _console_context() -> dict[str, Any]:
    if not current_user.is_authenticated or request.blueprint in (None, "widget", "auth"):
        return {}
    workspaces = all_workspaces()
    return {"workspaces": workspaces, "workspace": current_workspace() if workspaces else None}


WORKSPACE_FIELD = "workspace"  # the app id a settings form was rendered for
OTHER_WORKSPACE = (
    "Nothing was changed: this form was opened for another workspace than the one now "
    "selected (it was switched in another tab). Check the workspace above and try again."
)


def bound_to_workspace(page: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """For a settings form's view, under its role check: the form carries the workspace it was
    rendered for, and a post whose workspace is no longer the current one (switched in another
    tab) changes nothing and goes back to `page` with the reason (docs/operations.md, "The
    console")."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if request.form.get(WORKSPACE_FIELD) != current_workspace().app_id:
                return client_redirect(url_for(page), flash=OTHER_WORKSPACE, category="error")
            return view(*args, **kwargs)

        return wrapped

    return decorator


@bp.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("inbox.index"))


@bp.post("/workspace")
@login_required
def switch_workspace() -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    app_id = request.form.get("app_id", "")
    if any(w.app_id == app_id for w in all_workspaces()):
        session["workspace"] = app_id
    return redirect(safe_next(request.form.get("next"), url_for("inbox.index")), code=303)


# --- what views take from a request ---------------------------------------------------------


def safe_next(target: str | None, default: str) -> str:
    """`target` when it is a path of this site, else `default`: so a `next` cannot send an
    operator elsewhere (`//host`, `/\\host`, a scheme) nor put a line break in the Location
    header. Browsers drop tabs and line breaks inside a URL and read a backslash as a slash, so
    any control character or backslash makes it `default` too."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return default


def id_arg(name: str) -> int | None:
    """The query string's `name` as an id (None when absent or not an id a row can have)."""
    return parse_id(request.args.get(name))


@bp.app_url_value_preprocessor
def _path_ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An id in a console path beyond our integer columns (or written with other scripts'
    digits) reaches the view as 0, which no row has: every view then answers as for any missing
    row (404, or the thread poll's 286), and no query is sent an integer the database refuses.
    The widget API checks its own ids."""
    if not values or request.blueprint == "widget":
        return
    for name, value in values.items():
        if type(value) is int and not (in_id_range(value) and request.path.isascii()):
            values[name] = 0
