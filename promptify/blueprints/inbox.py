"""The agents' inbox (§4)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

bp = Blueprint("inbox", __name__, url_prefix="/inbox")


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    return render_template("inbox/index.html")
