"""Settings › Messenger › Installation (§4): snippet, signing examples, allowed origins."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from promptify.blueprints.auth import role_required
from promptify.blueprints.console import current_workspace

bp = Blueprint("installation", __name__, url_prefix="/settings/messenger/installation")


@bp.get("")
@role_required("admin")
def index() -> ResponseReturnValue:
    return render_template("settings/installation.html", workspace=current_workspace())
