"""Settings › Messenger › Security (§4): keys, require-signed switch, token tester, failure log."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from promptify.blueprints.auth import role_required
from promptify.blueprints.console import current_workspace

bp = Blueprint("settings", __name__, url_prefix="/settings/messenger")


@bp.get("/security")
@role_required("admin")
def security() -> ResponseReturnValue:
    return render_template("settings/security.html", workspace=current_workspace())
