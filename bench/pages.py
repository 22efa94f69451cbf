"""Console page render times through gunicorn, signed in as an operator (inbox and panel)."""

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
    deep_cursor: str  # keyset position half-way down the open conversations


ASSIGNED = 30  # conversations assigned to the operator, spread over the data set ("assigned to me")
SEARCH = "zhang"  # a last name the generator gives to ~3% of contacts


def prepare(
    url: str, app_id: str, conversation_ids: list[int], *, signing_key: Any = None
) -> Fixture:
    """In-process, before gunicorn starts: an admin with a few assigned conversations, and for
    identify runs a signing key and an allowed origin."""
    from cryptography.hazmat.primitives import serialization
    from sqlalchemy import select

    from bench.scenarios import ORIGIN
    from promptify import clock, create_app
    from promptify.extensions import db
    from promptify.models import Conversation, Workspace
    from promptify.services import keys as keys_service
    from promptify.services import operators, workspaces

    password = secrets.token_urlsafe(12)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        operator = operators.set_up_operator(OPERATOR, "admin", password, now=clock.now())
        workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
        _assign(workspace.id, operator.id)
        deep_cursor = _middle_cursor(workspace.id)
        if signing_key is not None:
            pem = (
                signing_key.public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode()
            )
            keys_service.add_key(workspace, pem, now=clock.now())
            if ORIGIN not in {
                o.origin for o in workspace.origins
            }:  # set_origins([same]) trips the unique key
                workspaces.set_origins(workspace, [ORIGIN])
        owners = dict(
            db.session.execute(
                select(Conversation.id, Conversation.contact_id).where(
                    Conversation.id.in_(conversation_ids)
                )
            ).all()
        )
        db.engine.dispose()
    return Fixture(password, conversation_ids, [owners[i] for i in conversation_ids], deep_cursor)


def _assign(workspace_id: int, operator_id: int) -> None:
    from sqlalchemy import func, select, update

    from promptify.extensions import db
    from promptify.models import Conversation

    low, high = db.session.execute(
        select(func.min(Conversation.id), func.max(Conversation.id)).where(
            Conversation.workspace_id == workspace_id
        )
    ).one()
    step = max(1, (high - low) // ASSIGNED)
    ids = list(range(low, high + 1, step))[:ASSIGNED]
    db.session.execute(
        update(Conversation)
        .where(Conversation.id.in_(ids))
        .values(assignee_id=operator_id, status="open")
    )
    db.session.commit()


def _middle_cursor(workspace_id: int) -> str:
    from sqlalchemy import func, select

    from promptify.extensions import db
    from promptify.models import Conversation
    from promptify.services.search import Cursor

    open_ = (Conversation.workspace_id == workspace_id, Conversation.status == "open")
    count = db.session.scalar(select(func.count()).select_from(Conversation).where(*open_)) or 0
    row = db.session.execute(
        select(Conversation.last_message_at, Conversation.id)
        .where(*open_)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .offset(count // 2)
        .limit(1)
    ).one()
    return Cursor(row[0], row[1]).encode()


def login_cookie(port: int, password: str) -> str:
    import requests

    base = f"http://{HOST}:{port}"
    with requests.Session() as browser:
        browser.headers["User-Agent"] = USER_AGENT
        form = browser.get(f"{base}/login", timeout=30)
        token = _CSRF.search(form.text)
        if token is None:
            raise RuntimeError("no CSRF token on the login page")
        answer = browser.post(
            f"{base}/login",
            data={
                "email": OPERATOR,
                "password": password,
                "csrf_token": html.unescape(token.group(1)),
            },
            allow_redirects=False,
            timeout=30,
        )
        if answer.status_code != 303:
            raise RuntimeError(f"login answered {answer.status_code}")
        return "; ".join(f"{c.name}={c.value}" for c in browser.cookies)


class _Browser:
    """One keep-alive connection with the operator's cookie (reopened when the server closes it)."""

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
        "inbox list, next page (keyset cursor)": (
            [html.unescape(older.group(1))] if older else ["/inbox"],
            False,
        ),
        "inbox list, half-way down (keyset cursor)": (
            [f"/inbox?status=open&before={fixture.deep_cursor}"],
            False,
        ),
        "inbox list, assigned to me": (["/inbox?status=mine"], True),
        f"inbox search “{SEARCH}” (htmx list)": ([f"/inbox?status=open&q={SEARCH}"], True),
        "conversation page (list + thread + panel)": (conversations, False),
        "conversation via htmx (thread + panel)": (conversations, True),
        "side panel via htmx (/contacts/<id>)": (
            [f"/contacts/{i}" for i in fixture.contact_ids],
            True,
        ),
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
        timings[name] = PageTiming(
            statistics.median(samples), samples[int(0.9 * (len(samples) - 1))], len(samples)
        )
    return timings
