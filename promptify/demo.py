"""`promptify demo`: a ready workspace, an admin and an Ed25519 key pair, with copy-paste commands."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import current_app
from sqlalchemy import select

from promptify import clock
from promptify.extensions import db
from promptify.models import Workspace
from promptify.services import keys as keys_service
from promptify.services import operators, workspaces

DEMO_WORKSPACE = "Demo workspace"
DEMO_ADMIN = "admin@example.com"

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
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    (folder / "sign-token.mjs").write_text(NODE_SIGNER)
    (folder / "sign_token.py").write_text(PYTHON_SIGNER)
    (folder / "package.json").write_text(json.dumps({"private": True, "type": "module"}) + "\n")
    private_key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def prepare_demo(base_url: str, *, echo: Callable[[str], None]) -> Workspace:
    workspace = demo_workspace()
    password = secrets.token_urlsafe(12)
    operators.set_up_operator(DEMO_ADMIN, "admin", password, now=clock.now())
    folder = Path(current_app.instance_path) / "demo"
    key = keys_service.add_key(workspace, _demo_key_pair(folder), now=clock.now())
    url = f"{base_url}/widget/v1/apps/{workspace.app_id}/identify"
    unsigned = json.dumps({
        "id": "user-123", "email": "jane@example.com", "name": "Jane Doe",
        "attrs": {"plan": "pro", "active": True},
        "organizations": [{"id": "org-456", "name": "Acme Corp", "attrs": {"industry": "SaaS"}}],
    })
    echo(f"Demo workspace app id: {workspace.app_id}")
    echo(f"Console: {base_url}/login  (email {DEMO_ADMIN}, password {password})")
    echo(f"Signing key (Ed25519) thumbprint: {key.thumbprint}; private key in {folder}/ed25519-private.pem")
    echo("")
    echo("Identify a user without a signature:")
    echo(f"  curl -s -X POST {url} -H 'Content-Type: application/json' -d {shlex.quote(unsigned)}")
    echo("Sign a token with the documented snippet (Node, jose) and identify with it:")
    echo(f"  (cd {shlex.quote(str(folder))} && npm install --silent jose) && "
         f"JWT=$(node {shlex.quote(str(folder / 'sign-token.mjs'))} user-123)")
    echo(f"  # or with Python: JWT=$({shlex.quote(str(Path(sys.executable)))} {shlex.quote(str(folder / 'sign_token.py'))} user-123)")
    echo(f"  curl -s -X POST {url} -H 'Content-Type: application/json' -d \"{{\\\"jwt\\\": \\\"$JWT\\\"}}\"")
    return workspace


def serve_demo(workspace: Workspace, *, host: str, port: int, echo: Callable[[str], None]) -> None:
    """Serve the console on `port` and the demo host page on `port + 1` (another origin)."""
    import threading

    from werkzeug.serving import make_server, run_simple

    from promptify.demo_host import create_host_app

    widget_base = f"http://{host}:{port}"
    host_app = create_host_app(
        app_id=workspace.app_id,
        widget_base=widget_base,
        private_key_path=Path(current_app.instance_path) / "demo" / "ed25519-private.pem",
    )
    host_server = make_server(host, port + 1, host_app, threaded=True)
    threading.Thread(target=host_server.serve_forever, daemon=True).start()
    db.session.remove()  # end the CLI's transaction: on SQLite it would hold the write lock
    echo("")
    echo(f"Demo host page (a customer's app on another origin): http://{host}:{port + 1}/")
    echo(f"Console: {widget_base}/login")
    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)
