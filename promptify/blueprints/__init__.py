"""Blueprint registration: the table of contents of the HTTP surface."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from promptify.blueprints import (
        audit,
        auth,
        console,
        directory,
        health,
        inbox,
        installation,
        profile,
        security,
        team,
        widget,
    )
    from promptify.extensions import csrf

    csrf.exempt(
        widget.bp
    )  # authenticated by app id, origin, session header or JWT — never a cookie
    for module in (
        widget,
        health,
        auth,
        console,
        inbox,
        directory,
        security,
        installation,
        team,
        audit,
        profile,
    ):
        app.register_blueprint(module.bp)
