"""Console page render times through gunicorn, signed in as an operator (§4 inbox and panel)."""

from __future__ import annotations

import html
import re
import secrets
import socket
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench.load import HOST, exchange, request_bytes

OPERATOR = "bench-operator@example.com"
USER_AGENT = "promptify-bench/1"  # the same as the raw requests: session protection is "strong"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_OLDER = re.compile(r'href="(/inbox\?[^"]*before=[^"]+)"')


@dataclass(frozen=True)
class PageTiming:
    p50: float
    p90: float
    samples: int


@dataclass(frozen=True)
class Fixture:
    """What the page requests need: a signed-in operator and a spread of conversations."""

    password: str
    conversation_ids: list[int]
    contact_ids: list[int]


def prepare(url: str, app_id: str, conversation_ids: list[int], *, signing_key: Any = None) -> Fixture:
    """In-process, before gunicorn starts: an admin, and for identify runs a key and an origin."""
    from cryptography.hazmat.primitives import serialization
    from sqlalchemy import select

    from promptify import clock, create_app
    from promptify.cli import create_or_update_operator
    from promptify.extensions import db
    from promptify.models import Conversation, Workspace
    from promptify.services import keys as keys_service
    from promptify.services import workspaces

    from bench.scenarios import ORIGIN

    password = secrets.token_urlsafe(12)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        create_or_update_operator(OPERATOR, "admin", password)
        workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
        if signing_key is not None:
            pem = signing_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
            keys_service.add_key(workspace, pem, now=clock.now())
            workspaces.set_origins(workspace, [ORIGIN])
        owners = dict(db.session.execute(
            select(Conversation.id, Conversation.contact_id).where(Conversation.id.in_(conversation_ids))).all())
        db.engine.dispose()
    return Fixture(password, conversation_ids, [owners[i] for i in conversation_ids])


def login_cookie(port: int, password: str) -> str:
    import requests

    base = f"http://{HOST}:{port}"
    with requests.Session() as browser:
        browser.headers["User-Agent"] = USER_AGENT
        form = browser.get(f"{base}/login", timeout=30)
        token = _CSRF.search(form.text)
        if token is None:
            raise RuntimeError("no CSRF token on the login page")
        answer = browser.post(f"{base}/login", data={"email": OPERATOR, "password": password,
                                                     "csrf_token": html.unescape(token.group(1))},
                              allow_redirects=False, timeout=30)
        if answer.status_code != 303:
            raise RuntimeError(f"login answered {answer.status_code}")
        return "; ".join(f"{c.name}={c.value}" for c in browser.cookies)


class _Browser:
    """One keep-alive connection carrying the operator's cookie (reopened when the server closes it)."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port, self.cookie, self.sock = port, cookie, None

    def get(self, path: str, *, htmx: bool = False) -> str:
        headers = {"Cookie": self.cookie, "Accept": "text/html"}
        if htmx:
            headers["HX-Request"] = "true"
        if self.sock is None:
            self.sock = socket.create_connection((HOST, self.port), timeout=120)
        status, body, keep = exchange(self.sock, request_bytes("GET", path, headers=headers))
        if not keep:
            self.close()
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        return body.decode()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def page_paths(port: int, cookie: str, fixture: Fixture) -> dict[str, tuple[list[str], bool]]:
    """Page name → (paths cycled through, sent as htmx)."""
    browser = _Browser(port, cookie)
    first = browser.get("/inbox")
    browser.close()
    older = _OLDER.search(first)
    conversations = [f"/inbox/{i}" for i in fixture.conversation_ids]
    return {
        "inbox list (full page)": (["/inbox"], False),
        "inbox list, next page (keyset cursor)": ([html.unescape(older.group(1))] if older else ["/inbox"], False),
        "conversation page (list + thread + panel)": (conversations, False),
        "conversation via htmx (thread + panel)": (conversations, True),
        "side panel via htmx (/contacts/<id>)": ([f"/contacts/{i}" for i in fixture.contact_ids], True),
    }


def time_pages(port: int, cookie: str, fixture: Fixture, *, reps: int) -> dict[str, PageTiming]:
    """Sequential requests on one keep-alive connection: render time plus loopback, no queueing."""
    timings = {}
    for name, (paths, htmx) in page_paths(port, cookie, fixture).items():
        samples, browser = [], _Browser(port, cookie)
        for index in range(reps + 3):
            started = time.perf_counter()
            browser.get(paths[index % len(paths)], htmx=htmx)
            if index >= 3:  # the first ones warm the worker's caches and connections
                samples.append(time.perf_counter() - started)
        browser.close()
        samples.sort()
        timings[name] = PageTiming(statistics.median(samples), samples[int(0.9 * (len(samples) - 1))], len(samples))
    return timings
