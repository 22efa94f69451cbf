"""The code shown on Settings › Messenger › Installation (docs/identification.md), built in one place.

Plain text, no Flask and no database: the page renders these strings (autoescaped, and in
`data-copy` for the copy buttons), and the integration tests execute the very same strings,
so the Python and Node examples an admin copies are known to mint tokens the widget accepts.
The setUser examples and the `jose` chain follow docs/identification.md verbatim.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

#: The alg the Node example signs with, by current key type (an RSA key also takes PS256).
NODE_ALG = {"Ed25519": "EdDSA", "P-256": "ES256", "RSA": "RS256"}
#: joserfc 1.8 warns that the name "EdDSA" is deprecated (RFC 9864); "Ed25519" is the same
#: signature, and Promptify accepts both names for an Ed25519 key.
PYTHON_ALG = {"Ed25519": "Ed25519", "P-256": "ES256", "RSA": "RS256"}
OTHER_ALGS = {"Ed25519": ("Ed25519",), "P-256": (), "RSA": ("PS256",)}
_JOSERFC_KEY_CLASS = {"Ed25519": "OKPKey", "P-256": "ECKey", "RSA": "RSAKey"}

#: Shown when the workspace has no current key: Ed25519 with openssl, as in
#: docs/identification.md, "Signed identification".
DEFAULT_KEY_TYPE = "Ed25519"
GENERATE_KEY_PAIR = (
    "openssl genpkey -algorithm ed25519 -out private.pem   # keep this on your server\n"
    "openssl pkey -in private.pem -pubout -out public.pem  # paste this in Security"
)

SET_USER_ANONYMOUS = "promptify.setUser({ id: null });"

SET_USER_UNSIGNED = """\
promptify.setUser({
  id: "user-123",
  email: "jane@example.com",
  name: "Jane Doe",
  avatarUrl: "https://example.com/avatar.jpg",
  attrs: {
    plan: "pro",
    active: true,
  },
  organizations: [{ id: "org-456", name: "Acme Corp", attrs: { industry: "SaaS" } }],
});"""

SET_USER_JWT = """\
// the token your server signed for this visitor (see below)
promptify.setUser({ jwt: "eyJ..." });

// a verified session lapses (by default an hour after its last signed identify): let
// the widget fetch a fresh token before then, and after a key revocation, without a reload
promptify.setTokenProvider(async () => {
  const response = await fetch("/promptify-token", { credentials: "same-origin" });
  return (await response.json()).jwt;
});"""

_NODE = """\
import { readFileSync } from "node:fs";
import { SignJWT, importPKCS8 } from "jose";

// Once, at startup: the private key never leaves your server.
const privateKey = await importPKCS8(readFileSync("private.pem", "utf8"), {alg});

// For the signed-in user, on each page load:
let jwt = await new SignJWT({
  id: "user-123",
  email: "jane@example.com",
  name: "Jane Doe",
  aud: {app_id}, // optional: only this workspace accepts the token
  // jti: crypto.randomUUID(), // optional: the token can be used only once
})
  .setProtectedHeader({ alg: {alg} })
  .setExpirationTime("5m")
  .sign(privateKey);"""

_PYTHON = """\
import time

from joserfc import jwt
from joserfc.jwk import {key_class}

# Once, at startup: the private key never leaves your server.
with open("private.pem", "rb") as f:
    private_key = {key_class}.import_key(f.read())

# For the signed-in user, on each page load:
claims = {
    "id": "user-123",
    "email": "jane@example.com",
    "name": "Jane Doe",
    "aud": {app_id},  # optional: only this workspace accepts the token
    "exp": int(time.time()) + 300,  # required: expires in 5 minutes
    # "jti": secrets.token_urlsafe(16),  # optional: the token can be used only once
}
token = jwt.encode({"alg": {alg}}, claims, private_key, algorithms=[{alg}])"""


@dataclass(frozen=True)
class SigningExamples:
    """Server-side signing code for one key type; `has_key` is False when it is the default."""

    key_type: str
    has_key: bool
    node_alg: str
    python_alg: str
    other_algs: tuple[str, ...]
    node: str
    python: str


def install_snippet(script_url: str, app_id: str) -> str:
    """The one line an admin pastes into every page (docs/widget-api.md, "The widget script")."""
    return f'<script src="{html.escape(script_url)}" data-app-id="{html.escape(app_id)}"></script>'


def _fill(template: str, **values: str) -> str:
    # str.format would trip over the braces of JavaScript and Python dicts.
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def signing_examples(app_id: str, key_type: str | None) -> SigningExamples:
    """Node `jose` and Python `joserfc` code for the current key's type (None: no key yet)."""
    kind = key_type if key_type in NODE_ALG else DEFAULT_KEY_TYPE
    literal = json.dumps(app_id)  # a valid string literal in both JavaScript and Python
    node_alg, python_alg = NODE_ALG[kind], PYTHON_ALG[kind]
    return SigningExamples(
        key_type=kind,
        has_key=key_type in NODE_ALG,
        node_alg=node_alg,
        python_alg=python_alg,
        other_algs=OTHER_ALGS[kind],
        node=_fill(_NODE, alg=json.dumps(node_alg), app_id=literal),
        python=_fill(
            _PYTHON, alg=json.dumps(python_alg), app_id=literal, key_class=_JOSERFC_KEY_CLASS[kind]
        ),
    )
