"""`GET /healthz`: 200 while the database answers (docs/operations.md, "Health and headers")."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from promptify.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()
    return jsonify(status="ok")
