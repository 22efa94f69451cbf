"""Tokens signed by Node `jose` as in the documented snippet verify (docs/identification.md,
"Node (`jose`)").

`tests/node/sign.mjs` runs `new SignJWT(claims).setProtectedHeader({alg}).setExpirationTime("5m")
.sign(privateKey)`. Needs `npm ci --prefix tests/node` (or `npm install`); skipped locally when
node_modules is missing, a failure under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc.jwk import ECKey, OKPKey, RSAKey

from promptify.identity.keys import PublicKeyInfo
from promptify.identity.tokens import ALGORITHMS_BY_KEY_TYPE, verify_jwt

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
APP_ID = "app_NODEINTEROP000000000"

ED = ed25519.Ed25519PrivateKey.generate()
P256 = ec.generate_private_key(ec.SECP256R1())
RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _require_node() -> str:
    node = shutil.which("node")
    if node and (NODE_DIR / "node_modules" / "jose").is_dir():
        return node
    if os.environ.get("CI") == "true":
        pytest.fail("Node interop needs node and `npm ci --prefix tests/node` under CI")
    pytest.skip("tests/node/node_modules missing: run `npm install --prefix tests/node`")


def _key_info(private_key: Any, key_type: str, jwk_cls: Any) -> PublicKeyInfo:
    public = private_key.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    thumbprint = jwk_cls.import_key(public).thumbprint()
    return PublicKeyInfo(key_type, ALGORITHMS_BY_KEY_TYPE[key_type], thumbprint, pem, 0)


def _sign_with_node(node: str, private_key: Any, alg: str, claims: dict[str, Any]) -> str:
    pkcs8 = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    request = json.dumps({"privateKeyPem": pkcs8, "alg": alg, "claims": claims})
    done = subprocess.run(
        [node, str(NODE_DIR / "sign.mjs")],
        input=request,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("alg", "private_key", "key_type", "jwk_cls"),
    [
        ("EdDSA", ED, "Ed25519", OKPKey),
        ("ES256", P256, "P-256", ECKey),
        ("PS256", RSA, "RSA", RSAKey),
        ("RS256", RSA, "RSA", RSAKey),
    ],
)
def test_jose_signed_token_is_accepted(
    alg: str, private_key: Any, key_type: str, jwk_cls: Any
) -> None:
    node = _require_node()
    claims = {
        "id": "user-123",
        "email": "jane@example.com",
        "name": "Jane Doe",
        "attrs": {"plan": "pro", "active": True},
    }
    token = _sign_with_node(node, private_key, alg, claims)
    # setExpirationTime("5m") is relative to the real clock, so verify at the real time.
    now = datetime.now(UTC)
    key = _key_info(private_key, key_type, jwk_cls)
    result = verify_jwt(token, [key], app_id=APP_ID, now=now)
    assert result.header == {"alg": alg}
    assert {k: v for k, v in result.claims.items() if k != "exp"} == claims
    assert now + timedelta(minutes=4) < result.expires_at <= now + timedelta(minutes=5, seconds=1)
    assert result.key_thumbprint == key.thumbprint
