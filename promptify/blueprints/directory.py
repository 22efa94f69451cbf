"""Contacts and Organizations directories (§4)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

bp = Blueprint("directory", __name__)


@bp.get("/contacts")
@login_required
def contacts() -> ResponseReturnValue:
    return render_template("directory/contacts.html")


@bp.get("/organizations")
@login_required
def organizations() -> ResponseReturnValue:
    return render_template("directory/organizations.html")
