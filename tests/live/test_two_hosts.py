"""One installation served by two independent hosts (docs/operations.md, "Several processes and
hosts"): two gunicorn instances on different ports, each with its own instance folder, sharing
only PostgreSQL, the secret key and Redis. Whatever one host accepted, the other honours."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy.engine import make_url

from promptify import clock as app_clock
from promptify.services import operators
from tests.conftest import csrf_token_from
from tests.factories import add_key, make_private_key, make_workspace, sign
from tests.integration.test_email_notifications import SmtpInbox, free_port

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "https://app.acme.test"
REDIS_URL = "redis://127.0.0.1:6379/14"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _redis_or_fail() -> redis.Redis:
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.RedisError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {error}", pytrace=False)
        pytest.skip(f"Redis is unreachable: {error}")
    return server


@pytest.fixture
def smtp_server() -> Iterator[SmtpInbox]:
    server = SmtpInbox(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def two_hosts(app, database_url, tmp_path, smtp_server) -> Iterator[tuple[str, str]]:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("several hosts share a PostgreSQL database, not a SQLite file")
    server = _redis_or_fail()
    prefix = f"two-hosts-{secrets.token_hex(4)}"
    shared = {
        "DATABASE_URL": database_url,
        "PROMPTIFY_SECRET_KEY": secrets.token_urlsafe(48),
        "PROMPTIFY_RATELIMIT_STORAGE_URI": REDIS_URL,
        "PROMPTIFY_RATELIMIT_KEY_PREFIX": prefix,
        "PROMPTIFY_WIDGET_RATE_LIMIT_PER_ADDRESS": "8 per minute",
        "PROMPTIFY_SMTP_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "PROMPTIFY_MAIL_FROM": "support@acme.test",
        "PROMPTIFY_CONSOLE_URL": "https://support.acme.test",
        "PROMPTIFY_NOTIFY_AFTER_SECONDS": "1",
        "PROMPTIFY_MAIL_POLL_SECONDS": "0.2",
        "PYTHONPATH": str(ROOT),
    }
    hosts, urls = [], []
    try:
        for name in ("host-a", "host-b"):
            folder = tmp_path / name
            folder.mkdir()
            port = _free_port()
            env = {**os.environ, **shared, "PROMPTIFY_INSTANCE_PATH": str(folder / "instance")}
            log = open(folder / "gunicorn.log", "w")  # noqa: SIM115 - closed below
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4"]
                + ["-b", f"127.0.0.1:{port}", "--chdir", str(folder), "promptify:create_app()"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            hosts.append((process, log, folder))
            urls.append(f"http://127.0.0.1:{port}")
        for (process, _, folder), url in zip(hosts, urls, strict=True):
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError((folder / "gunicorn.log").read_text())
                time.sleep(0.1)
        yield urls[0], urls[1]
    finally:
        for process, log, _ in hosts:
            process.terminate()
            process.wait(timeout=15)
            log.close()
        keys = server.keys(f"{prefix}*")
        if keys:
            server.delete(*keys)


def _identify(base: str, app_id: str, body: dict, session: str | None = None) -> requests.Response:
    headers = {"Origin": ORIGIN}
    if session:
        headers["X-Promptify-Session"] = session
    return requests.post(
        f"{base}/widget/v1/apps/{app_id}/identify", json=body, headers=headers, timeout=10
    )


def test_two_hosts_share_sessions_logins_rate_limits_replay_protection_and_email(
    app, two_hosts, smtp_server
):
    a, b = two_hosts
    app_id = make_workspace(app, origins=[ORIGIN])
    key = make_private_key("Ed25519")
    add_key(app, app_id, key)

    with app.app_context():
        operators.create_operator(
            "ada@example.com", "Ada", "admin", "a long password", now=app_clock.now()
        )

    # a widget session made on one host works on the other
    session = _identify(a, app_id, {"id": "u1", "name": "Uma"}).json()["session"]
    started = requests.post(
        f"{b}/widget/v1/apps/{app_id}/conversations",
        json={"body": "Asked on host B"},
        headers={"Origin": ORIGIN, "X-Promptify-Session": session},
        timeout=10,
    )
    assert started.status_code == 201, started.text
    listed = requests.get(
        f"{a}/widget/v1/apps/{app_id}/conversations",
        headers={"Origin": ORIGIN, "X-Promptify-Session": session},
        timeout=10,
    )
    assert [c["preview"] for c in listed.json()["conversations"]] == ["Asked on host B"]

    # a jti used on one host is a replay on the other
    token = sign(
        key,
        {"id": "u2", "exp": int(time.time()) + 300, "jti": secrets.token_hex(8)},
    )
    assert _identify(a, app_id, {"jwt": token}).status_code == 200
    replay = _identify(b, app_id, {"jwt": token})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "jwt_replayed"

    # the visitor's message is emailed once to the operator, whichever host's sender took it
    deadline = time.monotonic() + 20
    while not smtp_server.to("ada@example.com") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # several sender rounds on both hosts: a second copy would have arrived
    emails = smtp_server.to("ada@example.com")
    assert len(emails) == 1, [e.email["Subject"] for e in emails]
    assert "Asked on host B" in emails[0].email.get_body().get_content()

    # a console sign-in on one host is a sign-in on the other
    browser = requests.Session()
    token = csrf_token_from(browser.get(f"{a}/login", timeout=10).text)
    signed_in = browser.post(
        f"{a}/login",
        data={"email": "ada@example.com", "password": "a long password", "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 303
    inbox = browser.get(f"{b}/inbox", allow_redirects=False, timeout=10)
    assert inbox.status_code == 200 and "Asked on host B" in inbox.text

    # the per-address limit (8 per minute) is counted once for both hosts, in Redis
    statuses = [_identify(host, app_id, {"id": None}).status_code for host in (a, b) * 6]
    assert statuses.count(429) >= 4 and statuses[:2] == [200, 200], statuses
