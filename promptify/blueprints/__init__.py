"""Blueprint registration: the table of contents of the HTTP surface."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from promptify.blueprints import health, widget
    from promptify.extensions import csrf

    csrf.exempt(widget.bp)  # authenticated by app id, origin, session header or JWT — never a cookie
    app.register_blueprint(widget.bp)
    app.register_blueprint(health.bp)
