"""`promptify demo`: a ready workspace, an admin and an Ed25519 key pair, with copy-paste commands."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shlex
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import current_app
from sqlalchemy import select

from promptify import clock
from promptify.extensions import db
from promptify.models import Role, Workspace
from promptify.services import keys as keys_service
from promptify.services import operators, workspaces
from promptify.services.audit import Actor

DEMO_WORKSPACE = "Demo workspace"
DEMO_ADMIN = "admin@example.com"
# What visitors see as the author of the admin's replies (a profile setting the admin may change).
DEMO_ADMIN_NAME = "Alex from Acme"
PASSWORD_FILE = "admin-password"  # beside the demo's private key in the instance folder


@dataclass(frozen=True)
class Demo:
    app_id: str
    password: str
    folder: Path


# The user documentation's own signing snippet, wrapped so it runs as a file.
NODE_SIGNER = """\
// Signs a demo identity token exactly as the Promptify documentation shows.
import { readFileSync } from "node:fs";
import { importPKCS8, SignJWT } from "jose";

const privateKey = await importPKCS8(readFileSync(new URL("./ed25519-private.pem", import.meta.url), "utf8"), "EdDSA");
let jwt = await new SignJWT({
  id: process.argv[2] ?? "user-123",
  email: "jane@example.com",
  name: "Jane Doe",
})
  .setProtectedHeader({ alg: "EdDSA" })
  .setExpirationTime("5m")
  .sign(privateKey);
console.log(jwt);
"""

PYTHON_SIGNER = """\
\"\"\"Signs a demo identity token with joserfc (the Python equivalent of the documented snippet).\"\"\"
import sys
import time
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import OKPKey

key = OKPKey.import_key((Path(__file__).parent / "ed25519-private.pem").read_text())
claims = {"id": sys.argv[1] if len(sys.argv) > 1 else "user-123", "email": "jane@example.com",
          "name": "Jane Doe", "exp": int(time.time()) + 300}
print(jwt.encode({"alg": "Ed25519"}, claims, key, algorithms=["Ed25519"]))
"""


def demo_workspace() -> Workspace:
    existing = db.session.scalar(
        select(Workspace).where(Workspace.name == DEMO_WORKSPACE).order_by(Workspace.id)
    )
    return existing or workspaces.create_workspace(DEMO_WORKSPACE, [], now=clock.now())


def _demo_key_pair(folder: Path) -> str:
    """Create (once) the demo's private key file and signer scripts; return the public PEM."""
    folder.mkdir(parents=True, exist_ok=True)
    private_path = folder / "ed25519-private.pem"
    if not private_path.exists():
        private = ed25519.Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    (folder / "sign-token.mjs").write_text(NODE_SIGNER)
    (folder / "sign_token.py").write_text(PYTHON_SIGNER)
    (folder / "package.json").write_text(json.dumps({"private": True, "type": "module"}) + "\n")
    private_key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _demo_password(folder: Path) -> str:
    """The demo admin's password: generated on the first run into a file only its owner can read
    (mode 0600), then reused, so the console login survives restarts of `make run`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PASSWORD_FILE
    try:
        stored = path.read_text().strip()
    except FileNotFoundError:
        stored = ""
    if len(stored) >= 8:  # the console's minimum; anything shorter was not written by this function
        return stored
    password = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    os.chmod(path, 0o600)  # also when an emptied file was left with a wider mode
    return password


def prepare_demo(base_url: str, *, echo: Callable[[str], None], actor: Actor) -> Demo:
    """Create or refresh the demo workspace, admin and key pair. The admin's password is the stored
    one, set again on every run so it works even with a recreated database. The audit log names
    `actor` (who ran the command) for the changes."""
    workspace = demo_workspace()
    folder = Path(current_app.instance_path) / "demo"
    password = _demo_password(folder)
    admin = operators.set_up_operator(
        DEMO_ADMIN, Role.ADMIN, password, now=clock.now(), actor=actor
    )
    if admin.name in ("", DEMO_ADMIN.split("@")[0]):  # not renamed in the profile since
        operators.update_profile(admin, name=DEMO_ADMIN_NAME)
    key = keys_service.add_key(workspace, _demo_key_pair(folder), now=clock.now(), actor=actor)
    url = f"{base_url}/widget/v1/apps/{workspace.app_id}/identify"
    unsigned = json.dumps(
        {
            "id": "user-123",
            "email": "jane@example.com",
            "name": "Jane Doe",
            "attrs": {"plan": "pro", "active": True},
            "organizations": [
                {"id": "org-456", "name": "Acme Corp", "attrs": {"industry": "SaaS"}}
            ],
        }
    )
    echo(f"Demo workspace app id: {workspace.app_id}")
    echo(_sign_in_line(base_url, password))
    echo(
        f"Signing key (Ed25519) thumbprint: {key.thumbprint}; private key in {folder}/ed25519-private.pem"
    )
    echo("")
    echo("Identify a user without a signature:")
    echo(f"  curl -s -X POST {url} -H 'Content-Type: application/json' -d {shlex.quote(unsigned)}")
    echo("Sign a token with the documented snippet (Node, jose) and identify with it:")
    echo(
        f"  (cd {shlex.quote(str(folder))} && npm install --silent jose) && "
        f"JWT=$(node {shlex.quote(str(folder / 'sign-token.mjs'))} user-123)"
    )
    echo(
        f"  # or with Python: JWT=$({shlex.quote(str(Path(sys.executable)))} {shlex.quote(str(folder / 'sign_token.py'))} user-123)"
    )
    echo(
        f'  curl -s -X POST {url} -H \'Content-Type: application/json\' -d "{{\\"jwt\\": \\"$JWT\\"}}"'
    )
    return Demo(app_id=workspace.app_id, password=password, folder=folder)


def _sign_in_line(base_url: str, password: str) -> str:
    return f"Console: {base_url}/login  (email {DEMO_ADMIN}, password {password})"


# Requests the widget and the console repeat every few seconds while a page is open: the widget's
# conversation list and open thread (and the CORS preflights of its calls), the console's open
# thread (`/inbox/<id>/poll`) and its conversation list, which htmx refreshes with the list
# element's id in `HX-Trigger` (a navigation or a search sends no such header).
_POLLED_PATHS = re.compile(r"/widget/v1/apps/[^/]+/conversations(?:/\d+/messages)?|/inbox/\d+/poll")
_REFRESHED_LIST = ("/inbox", "conversation-list")


def is_polling(environ: dict[str, Any]) -> bool:
    """Whether a request (a WSGI environ) is one of the demo's periodic polls."""
    method = environ.get("REQUEST_METHOD", "")
    if method == "OPTIONS":
        return True
    if method != "GET":
        return False
    path = environ.get("PATH_INFO", "")
    if _POLLED_PATHS.fullmatch(path):
        return True
    return (path, environ.get("HTTP_HX_TRIGGER")) == _REFRESHED_LIST


class QuietPolling(logging.Filter):
    """Keeps successful polls out of the development server's access log, so the demo's start-up
    output (and the requests that matter) are not scrolled away by a line every few seconds.

    `wrap` marks each request the app serves as a poll or not; the access-log line werkzeug writes
    afterwards, in the same thread, is dropped when the request was marked and its status is 2xx or
    3xx. Errors, every other request, and werkzeug's other messages pass.
    """

    def __init__(self) -> None:
        super().__init__()
        self._request = threading.local()

    def wrap(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def marked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            self._request.polling = is_polling(environ)
            return app(environ, start_response)

        return marked

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(self._request, "polling", False):
            return True
        # werkzeug's access line: '<address> - - [<date>] "%s" %s %s' % (request line, status, size)
        args = record.args
        if not isinstance(args, tuple) or len(args) != 3:
            return True
        return not str(args[1]).startswith(("2", "3"))


def serve_demo(demo: Demo, *, host: str, port: int, echo: Callable[[str], None]) -> None:
    """Serve the console on `port` and the demo host page on `port + 1` (another origin), then
    repeat how to sign in, last, above the access log."""
    from werkzeug.serving import make_server

    from promptify.demo.host import create_host_app

    widget_base = f"http://{host}:{port}"
    host_app = create_host_app(
        app_id=demo.app_id,
        widget_base=widget_base,
        private_key_path=demo.folder / "ed25519-private.pem",
    )
    quiet = QuietPolling()
    logging.getLogger("werkzeug").addFilter(quiet)
    # Both sockets listen from here on; connections wait until the lines below are printed, so the
    # first access-log line comes after the password.
    host_server = make_server(host, port + 1, host_app, threaded=True)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    console = make_server(host, port, quiet.wrap(app), threaded=True)
    db.session.remove()  # end the CLI's transaction: on SQLite it would hold the write lock
    console.log_startup()
    echo("")
    echo(f"Demo host page (a customer's app on another origin): http://{host}:{port + 1}/")
    echo("The access log below leaves out successful polling requests. Press CTRL+C to quit.")
    echo(f"The admin's password is kept in {demo.folder / PASSWORD_FILE} and reused on every run.")
    echo(_sign_in_line(widget_base, demo.password))
    threading.Thread(target=host_server.serve_forever, daemon=True).start()
    console.serve_forever()
