"""The identify scenarios: what each connection sends, pre-serialised.

An unchanged identify writes nothing but a throttled last-seen time (docs/widget-api.md,
"Identify"); these scenarios measure what it costs all the same.

Every identified user carries 50 attrs and 10 organizations, the largest payload the limits
allow. Tokens are EdDSA (Ed25519) and carry no `jti` (a repeated token with a jti is a replay by
design).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.load import HOST, exchange, request_bytes

ORIGIN = "https://app.example.com"
PAGE_URL = "https://app.example.com/dashboard"
USERS_PER_CONNECTION = 4
VARIANTS = 4  # the changed scenario cycles each user through this many payloads
ORG_POOL = 200
ALG = "EdDSA"
ECHO = "bare Flask JSON echo (baseline)"


@dataclass(frozen=True)
class Scenario:
    name: str
    target: float | None  # minimum throughput ratio against the echo baseline
    build: Callable[[Any, int], list[list[bytes]]]  # (setup, connections) -> one request list each


def identify_path(app_id: str) -> str:
    return f"/widget/v1/apps/{app_id}/identify"


def _headers(session: str | None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Origin": ORIGIN,
        "X-Promptify-Page-Url": PAGE_URL,
    }
    if session:
        headers["X-Promptify-Session"] = session
    return headers


def claims(external_id: str, variant: int, number: int) -> dict[str, Any]:
    """50 attrs of mixed types and 10 organizations; `variant` changes 5 attr values and one
    membership (the 10th organization), so consecutive variants always differ."""
    attrs: dict[str, Any] = {}
    for i in range(50):
        kind = i % 5
        if kind == 0:
            attrs[f"count_{i:02d}"] = number * 7 + i + (variant if i < 25 else 0)
        elif kind == 1:
            attrs[f"flag_{i:02d}"] = (number + i) % 2 == 0
        elif kind == 2:
            attrs[f"score_{i:02d}"] = round(number / 7 + i, 3)
        else:
            attrs[f"text_{i:02d}"] = f"value {i} of user {number}" + (
                f" v{variant}" if i < 10 else ""
            )
    # An organization's attrs depend on the organization only: every member asserts the same
    # values, so a page load of an unchanged user really changes nothing (members that disagreed
    # would rewrite the shared rows on every call).
    organizations = [
        {
            "id": f"bench-org-{org}",
            "name": f"Bench Org {org}",
            "attrs": {
                "tier": "gold" if org % 2 else "silver",
                "region": "eu",
                "seats": 10 + org % 10,
            },
        }
        for org in ((number * 3 + j) % ORG_POOL for j in range(9))
    ]
    rotating = ORG_POOL + (number + variant) % VARIANTS
    organizations.append(
        {"id": f"bench-org-{rotating}", "name": f"Bench Org {rotating}", "attrs": {"tier": "new"}}
    )
    return {
        "id": external_id,
        "email": f"{external_id}@example.com",
        "name": f"Bench User {number}",
        "attrs": attrs,
        "organizations": organizations,
        "exp": int(time.time()) + 3 * 3600,
    }


def sign(private_key: Any, payload: dict[str, Any]) -> str:
    from cryptography.hazmat.primitives import serialization
    from joserfc import jwt
    from joserfc.jwk import OKPKey

    from promptify.identity.tokens import jws_registry

    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return jwt.encode({"alg": ALG}, payload, OKPKey.import_key(pem), registry=jws_registry(ALG))


def post_identify(port: int, app_id: str, body: dict[str, Any], session: str | None = None) -> str:
    """One identify outside the measurement; returns the session token."""
    data = json.dumps(body).encode()
    request = request_bytes(
        "POST", identify_path(app_id), data, {**_headers(session), "Connection": "close"}
    )
    with socket.create_connection((HOST, port), timeout=60) as sock:
        status, answer, _ = exchange(sock, request)
    if status != 200:
        raise RuntimeError(f"warm-up identify answered {status}: {answer[:300]!r}")
    return json.loads(answer)["session"]


@dataclass(frozen=True)
class Setup:
    port: int
    app_id: str
    private_key: Any

    def identify(self, body: dict[str, Any], session: str | None = None) -> bytes:
        data = json.dumps(body).encode()
        return request_bytes("POST", identify_path(self.app_id), data, _headers(session))

    def warm(self, bodies: list[dict[str, Any]]) -> list[str]:
        """Identify each body once (in parallel) and return the sessions, in order."""
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda body: post_identify(self.port, self.app_id, body), bodies))


def _users(setup: Setup, prefix: str, connections: int) -> list[list[tuple[str, int]]]:
    return [
        [(f"{prefix}-{c}-{k}", c * USERS_PER_CONNECTION + k) for k in range(USERS_PER_CONNECTION)]
        for c in range(connections)
    ]


def build_unchanged(setup: Setup, connections: int) -> list[list[bytes]]:
    """The widget on every page load: the same signed payload, with the session it got."""
    users = _users(setup, "bench-same", connections)
    tokens = {u: sign(setup.private_key, claims(u, 0, n)) for row in users for u, n in row}
    sessions = dict(zip(tokens, setup.warm([{"jwt": t} for t in tokens.values()]), strict=True))
    return [[setup.identify({"jwt": tokens[u]}, sessions[u]) for u, _ in row] for row in users]


def build_changed(setup: Setup, connections: int) -> list[list[bytes]]:
    """Every call differs from the user's stored payload: 5 attrs and one membership change."""
    users = _users(setup, "bench-changed", connections)
    flat = [(u, n) for row in users for u, n in row]
    warm_tokens = [sign(setup.private_key, claims(u, VARIANTS - 1, n)) for u, n in flat]
    sessions = dict(
        zip((u for u, _ in flat), setup.warm([{"jwt": t} for t in warm_tokens]), strict=True)
    )
    plans = []
    for row in users:  # request i: user i % 4 with variant (i // 4) % VARIANTS
        plans.append(
            [
                setup.identify({"jwt": sign(setup.private_key, claims(u, v, n))}, sessions[u])
                for v in range(VARIANTS)
                for u, n in row
            ]
        )
    return plans


def build_anonymous(setup: Setup, connections: int) -> list[list[bytes]]:
    """A returning anonymous visitor: `{id: null}` with its session (tracking, no write)."""
    sessions = setup.warm([{"id": None}] * (connections * USERS_PER_CONNECTION))
    return [
        [setup.identify({"id": None}, s) for s in sessions[c::connections]]
        for c in range(connections)
    ]


def build_anonymous_new(setup: Setup, connections: int) -> list[list[bytes]]:
    """A first visit: `{id: null}` without a session creates a contact and a session."""
    return [[setup.identify({"id": None})] for _ in range(connections)]


def _call(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes, str]:
    """One call outside the measurement: (status, body, ETag)."""
    request = request_bytes(method, path, body, {**headers, "Connection": "close"})
    with socket.create_connection((HOST, port), timeout=60) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, answer = data.partition(b"\r\n\r\n")
    etag = next(
        (
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"etag:")
        ),
        "",
    )
    return int(head[9:12]), answer, etag


def build_closed_poll(setup: Setup, connections: int) -> list[list[bytes]]:
    """The widget while its panel is closed: every open tab polls the conversation list with
    the ETag it holds, and nothing changed (docs/widget-api.md, "Conversations")."""
    sessions = setup.warm([{"id": None}] * (connections * USERS_PER_CONNECTION))
    path = f"/widget/v1/apps/{setup.app_id}/conversations"
    polls = []
    for session in sessions:
        headers = {k: v for k, v in _headers(session).items() if k != "Content-Type"}
        started, answer, _ = _call(
            setup.port,
            "POST",
            path,
            {**headers, "Content-Type": "application/json"},
            json.dumps({"body": "Is anyone there?"}).encode(),
        )
        status, answer, etag = _call(setup.port, "GET", path, headers)
        if started != 201 or status != 200 or not etag:
            raise RuntimeError(f"closed-poll warm-up answered {started}/{status}: {answer[:300]!r}")
        polls.append(request_bytes("GET", path, b"", {**headers, "If-None-Match": etag}))
    return [polls[c::connections] for c in range(connections)]


def build_echo(setup: Setup, connections: int) -> list[list[bytes]]:
    """The baseline gets the unchanged scenario's body and headers, at /echo."""
    token = sign(setup.private_key, claims("bench-echo", 0, 0))
    body = json.dumps({"jwt": token}).encode()
    request = request_bytes("POST", "/echo", body, _headers("x" * 43))
    return [[request] for _ in range(connections)]


SCENARIOS = (
    Scenario("identify, unchanged JWT (EdDSA, 50 attrs, 10 orgs)", 0.5, build_unchanged),
    Scenario("identify, changed JWT payload (50 attrs, 10 orgs)", 0.25, build_changed),
    Scenario("identify, anonymous returning visitor", None, build_anonymous),
    Scenario("identify, anonymous first visit (creates a contact)", None, build_anonymous_new),
    Scenario("widget closed-state poll, unchanged list (304)", 1 / 3, build_closed_poll),
)
