"""Settings › Messenger › Installation: snippet, signing examples, allowed origins.

What the page shows: docs/operations.md, "The console".
The origin rules: docs/widget-api.md, "Origins and CORS".
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue

from promptify import clock
from promptify.blueprints.audit import current_actor
from promptify.blueprints.auth import role_required
from promptify.blueprints.console import bound_to_workspace, current_workspace
from promptify.blueprints.installation import snippets
from promptify.config import current_policy
from promptify.forms import OriginsForm
from promptify.htmx import fragment_or_redirect, render_page_or_partial
from promptify.models import Workspace
from promptify.services import keys as keys_service
from promptify.services import origin_list

bp = Blueprint("installation", __name__, url_prefix="/settings/messenger/installation")

PAGE, ORIGINS = "settings/installation.html", "settings/_origins.html"


def _context(workspace: Workspace, form: OriginsForm, **extra: Any) -> dict[str, Any]:
    statuses = keys_service.list_keys(workspace, now=clock.now(), policy=current_policy())
    current = next((k.key for k in statuses if k.status == "current"), None)
    return {
        "workspace": workspace,
        "form": form,
        "origins": [o.origin for o in workspace.origins],
        "current_key": current,
        "snippet": snippets.install_snippet(
            url_for("widget.script", _external=True), workspace.app_id
        ),
        "set_user": {
            "anonymous": snippets.SET_USER_ANONYMOUS,
            "unsigned": snippets.SET_USER_UNSIGNED,
            "jwt": snippets.SET_USER_JWT,
        },
        "examples": snippets.signing_examples(
            workspace.app_id, current.key_type if current else None
        ),
        "generate_key_pair": snippets.GENERATE_KEY_PAIR,
        **extra,
    }


def _origins_form(workspace: Workspace) -> OriginsForm:
    return OriginsForm(formdata=None, origins="\n".join(o.origin for o in workspace.origins))


def _saved_message(count: int) -> str:
    if count == 0:
        return "Saved: the list is empty, so any origin may call the widget API."
    return f"Saved {count} allowed origin{'s' if count != 1 else ''}."


@bp.get("")
@role_required("admin")
def index() -> ResponseReturnValue:
    workspace = current_workspace()
    return render_template(PAGE, **_context(workspace, _origins_form(workspace)))


@bp.post("/origins")
@role_required("admin")
@bound_to_workspace("installation.index")
def save_origins() -> ResponseReturnValue:
    """Replace the allowed origins; every bad line is named on the field (422)."""
    workspace = current_workspace()
    form = OriginsForm()
    if form.validate_on_submit():
        try:
            saved = origin_list.replace_origins(
                workspace, form.origins.data or "", now=clock.now(), actor=current_actor()
            )
        except origin_list.OriginListRejected as rejected:
            form.origins.errors.extend(rejected.errors)
        else:
            message = _saved_message(len(saved))
            fresh = _origins_form(workspace)  # shows the list as normalised and saved
            return fragment_or_redirect(
                ORIGINS,
                _context(workspace, fresh, saved=message),
                redirect_to=url_for("installation.index"),
                flash=message,
            )
    return render_page_or_partial(PAGE, ORIGINS, 422, **_context(workspace, form))
