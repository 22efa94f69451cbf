"""Settings › Team (§4): operators and their roles."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from promptify.blueprints.auth import role_required
from promptify.services import operators

bp = Blueprint("team", __name__, url_prefix="/settings/team")


@bp.get("")
@role_required("admin")
def index() -> ResponseReturnValue:
    return render_template("settings/team.html", operators=operators.list_operators())
