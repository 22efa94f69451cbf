"""The demo's host page: a stand-in for a customer's web app on another origin.

It embeds the widget exactly as the Installation page shows, and plays the customer's server by
signing identity tokens with the demo's private key (`/token`), so the whole flow can be tried.
Its page is `templates/host.html`, its own script and stylesheet `static/host.js` and
`static/host.css`, beside this file.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, abort, render_template, request
from joserfc import jwt
from joserfc.jwk import OKPKey

from promptify.identity.tokens import jws_registry

HERE = Path(__file__).resolve().parent


PEOPLE = {
    "user-123": {
        "email": "jane@example.com",
        "name": "Jane Doe",
        "attrs": {"plan": "pro", "active": True},
        "organizations": [{"id": "org-456", "name": "Acme Corp", "attrs": {"industry": "SaaS"}}],
    },
    "user-456": {
        "email": "max@example.com",
        "name": "Max Mustermann",
        "attrs": {"plan": "free"},
        "organizations": [{"id": "org-789", "name": "Globex", "attrs": {"industry": "Energy"}}],
    },
}


def host_csp(widget_base: str) -> str:
    """The host page's Content-Security-Policy: its own files, plus the Promptify server in
    `script-src` (the widget script) and `connect-src` (the widget's API calls), as
    docs/widget-api.md, "The widget script" asks of a customer's page. No inline script or style:
    the page's code and styles are files, and the widget draws with a constructed stylesheet."""
    parts = urlsplit(widget_base)
    console = f"{parts.scheme}://{parts.netloc}"
    return (
        f"default-src 'none'; script-src 'self' {console}; style-src 'self'; img-src 'self'; "
        f"connect-src 'self' {console}; form-action 'none'; base-uri 'none'; object-src 'none'; "
        "frame-ancestors 'none'"
    )


def create_host_app(*, app_id: str, widget_base: str, private_key_path: Path) -> Flask:
    host = Flask("promptify_demo_host", root_path=str(HERE))  # templates/ and static/ beside us
    key = OKPKey.import_key(private_key_path.read_text())
    csp = host_csp(widget_base)

    @host.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @host.get("/")
    def page():  # type: ignore[no-untyped-def]
        return render_template("host.html", app_id=app_id, widget_base=widget_base)

    @host.get("/token")
    def token():  # type: ignore[no-untyped-def]
        user_id = request.args.get("id", "")
        if user_id not in PEOPLE:
            abort(404)
        claims = {"id": user_id, **PEOPLE[user_id], "aud": app_id, "exp": int(time.time()) + 300}
        return jwt.encode({"alg": "Ed25519"}, claims, key, registry=jws_registry("Ed25519"))

    return host
