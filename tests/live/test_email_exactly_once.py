"""Every queued email goes out exactly once while several processes send (docs/operations.md,
"Email notifications"): gunicorn with 2 workers, each running its background sender, plus a
third sender in this process, against PostgreSQL and a real SMTP server."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from promptify.extensions import db
from promptify.models import EmailOutbox, OutboxState
from promptify.services import mail, operators
from promptify.services.policy import Policy
from tests.factories import make_workspace
from tests.integration.test_email_notifications import SmtpInbox, free_port

pytestmark = pytest.mark.postgresql_only  # SKIP LOCKED claims between processes

DELAY_SECONDS = 1
CONVERSATIONS = 6
ROUNDS = 3
TEAM = ("ann@acme.test", "bob@acme.test", "cy@acme.test")


@pytest.fixture
def smtp_server() -> Any:
    server = SmtpInbox(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def mail_settings(monkeypatch, smtp_server) -> dict[str, Any]:
    settings = {
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "MAIL_FROM": "support@acme.test",
        "CONSOLE_URL": "https://support.acme.test",
        "NOTIFY_AFTER_SECONDS": DELAY_SECONDS,
        "MAIL_POLL_SECONDS": 0.1,
    }
    for name, value in settings.items():
        monkeypatch.setenv(f"PROMPTIFY_{name}", str(value))  # read by the gunicorn workers
    return settings


@pytest.fixture
def mailing_server(mail_settings, live_server) -> str:
    return live_server


def _post(url: str, session: str | None, body: Any) -> dict[str, Any]:
    headers = {"X-Promptify-Session": session} if session else {}
    response = requests.post(url, json=body, headers=headers, timeout=30)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _burst(api: str, round_: int, session: str, conversation_id: int | None) -> int:
    """Three visitor messages in quick succession (the first round starts the conversation)."""
    if conversation_id is None:
        started = _post(f"{api}/conversations", session, {"body": "Hello"})
        conversation_id = int(started["conversation"]["id"])
    for k in range(3):
        _post(
            f"{api}/conversations/{conversation_id}/messages",
            session,
            {"body": f"round {round_} message {k}"},
        )
    return conversation_id


def _pending(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).where(EmailOutbox.state == OutboxState.PENDING)
        )


def _sent_rows(app) -> list[tuple[int, int | None]]:
    with app.app_context():
        return list(
            db.session.execute(
                select(EmailOutbox.id, EmailOutbox.attempts).where(
                    EmailOutbox.state == OutboxState.SENT
                )
            ).all()
        )


def test_each_queued_email_is_received_exactly_once(
    app, mailing_server, mail_settings, smtp_server
):
    base = mailing_server
    app_id = make_workspace(app)
    with app.app_context():
        for email in TEAM:
            operators.create_operator(
                email, email.split("@")[0], "agent", "a long password", now=datetime.now(UTC)
            )
    api = f"{base}/widget/v1/apps/{app_id}"
    sessions = [
        _post(f"{api}/identify", None, {"id": f"visitor-{n}"})["session"]
        for n in range(CONVERSATIONS)
    ]

    # a third sender, in this process, competing with the workers' background senders
    stop = threading.Event()
    config = {**app.config, **mail_settings}

    def third_sender() -> None:
        settings = mail.MailSettings.from_config(config)
        assert settings is not None
        while not stop.is_set():
            with app.app_context():
                report = mail.send_pending(
                    settings, now=datetime.now(UTC), policy=Policy.from_config(config)
                )
            sent_here.append(report.sent)
            stop.wait(0.05)

    sent_here: list[int] = []
    competitor = threading.Thread(target=third_sender, daemon=True)
    competitor.start()
    conversations: list[int | None] = [None] * CONVERSATIONS
    try:
        with ThreadPoolExecutor(max_workers=CONVERSATIONS) as pool:
            for round_ in range(ROUNDS):
                conversations = list(
                    pool.map(partial(_burst, api, round_), sessions, conversations)
                )
                deadline = time.monotonic() + 60
                while _pending(app) and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert _pending(app) == 0, "emails still pending after a minute"
    finally:
        stop.set()
        competitor.join(30)

    time.sleep(1)  # many more passes of every sender: nothing may be sent again
    sent = _sent_rows(app)
    received = smtp_server.received
    copies = Counter(r.email["Message-ID"] for r in received)
    assert [mid for mid, n in copies.items() if n > 1] == []
    assert len(received) == len(sent) >= ROUNDS * CONVERSATIONS * len(TEAM)
    assert all(attempts == 1 for _, attempts in sent)
    assert sum(sent_here) < len(received)  # the workers' background senders sent too
    per_recipient = Counter(r.recipients for r in received)
    assert set(per_recipient) == {(email,) for email in TEAM}
    for email in TEAM:  # every burst of every conversation reached every operator
        for round_ in range(ROUNDS):
            for conversation_id in conversations:
                assert any(
                    f"/inbox/{conversation_id}\n" in r.text and f"round {round_} message" in r.text
                    for r in smtp_server.to(email)
                ), (email, round_, conversation_id)
