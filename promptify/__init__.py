"""Promptify: a self-hosted support messenger that knows who the visitor really is."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # keep `import promptify.identity` free of Flask
    from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Assemble the application; no I/O beyond making sure `instance/` exists."""
    from flask import Flask

    from promptify import cli, config, errors, headers, limits
    from promptify.blueprints import register_blueprints
    from promptify.extensions import register_extensions

    # PROMPTIFY_INSTANCE_PATH moves instance/ (config.py, secret_key, SQLite file, demo keys).
    instance_path = os.environ.get("PROMPTIFY_INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.jinja_env.add_extension("jinja2.ext.do")
    config.load(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    errors.register_error_handlers(app)
    headers.init_app(app)
    limits.init_app(app)
    app.wsgi_app = headers.SecureCookiesOnHttps(app.wsgi_app)  # type: ignore[method-assign]
    if int(app.config.get("PROXY_HOPS") or 0):
        # Behind N reverse proxies: trust their X-Forwarded-For/-Proto/-Host, so rate limits see
        # the visitor's address and HSTS is sent on https.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    cli.register_commands(app)
    _run_mail_sender(app)
    return app


def _run_mail_sender(app: Flask) -> None:
    """One background email sender per server process (docs/operations.md, "Email
    notifications"), started by the process's first request: so never by a CLI command, and under
    gunicorn in each worker, after the fork. Under test only when the test sets MAIL_SENDER."""
    import threading

    from promptify import clock
    from promptify.config import current_policy
    from promptify.services import mail

    starting = threading.Lock()

    def send_once() -> None:
        with app.app_context():
            settings = mail.MailSettings.from_config(app.config)
            if settings is not None:
                mail.send_pending(settings, now=clock.now(), policy=current_policy())

    @app.before_request
    def _start_sender() -> None:
        running = app.extensions.get(mail.SENDER_EXTENSION)
        if running is not None and running.pid == os.getpid():
            return
        wanted = app.config.get("MAIL_SENDER")
        if not app.config.get("SMTP_URL") or not (not app.testing if wanted is None else wanted):
            return
        with starting:
            running = app.extensions.get(mail.SENDER_EXTENSION)
            if running is None or running.pid != os.getpid():
                interval = float(app.config["MAIL_POLL_SECONDS"])
                app.extensions[mail.SENDER_EXTENSION] = mail.BackgroundSender(
                    send_once, interval
                ).start()
