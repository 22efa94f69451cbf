"""Email notifications (docs/operations.md, "Email notifications"): a real SMTP server on
loopback (aiosmtpd), real databases, the controllable clock; nothing is mocked."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import Conversation, EmailOutbox, Operator, OutboxState, Recipient
from promptify.services import mail, operators, outbox, teamwork
from promptify.services.policy import Policy
from tests.conftest import csrf_token_from
from tests.factories import add_key, identify, make_private_key, make_workspace, sign

CONSOLE = "https://support.acme.test"
SENDER = "Acme support <support@acme.test>"
DELAY = 120  # the default PROMPTIFY_NOTIFY_AFTER_SECONDS


# --- a real SMTP server ------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    recipients: tuple[str, ...]
    email: EmailMessage

    @property
    def text(self) -> str:
        return self.email.get_content().replace("\r\n", "\n")


class SmtpInbox:
    """An aiosmtpd handler keeping every email it accepts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._controller: Controller | None = None
        self.refused: set[str] = set()  # recipients answered "550 no such user"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        email = message_from_bytes(envelope.content, policy=email_policy.default)
        assert isinstance(email, EmailMessage)
        with self._lock:
            self._received.append(Received(tuple(envelope.rcpt_tos), email))
        return "250 Message accepted"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.recipients]

    def start(self) -> SmtpInbox:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 15) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


def free_port() -> int:
    """A loopback port nobody listens on (connections to it are refused until a server starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SmtpInbox]:
    server = SmtpInbox(free_port()).start()
    yield server
    server.stop()


def use_smtp(app, port: int, **settings: Any) -> None:
    app.config.update(
        SMTP_URL=f"smtp://127.0.0.1:{port}", MAIL_FROM=SENDER, CONSOLE_URL=CONSOLE, **settings
    )


@pytest.fixture
def mail_app(app, smtp_server):
    use_smtp(app, smtp_server.port)
    return app


@pytest.fixture
def app_id(app):
    return make_workspace(app)


# --- helpers -----------------------------------------------------------------------------------


def make_operator(app, name: str, role: str = "agent", *, notify: bool = True) -> str:
    email = f"{name}@acme.test"
    with app.app_context():
        operator = operators.create_operator(
            email, name.title(), role, "a long password", now=app_clock.now()
        )
        operator.notify_email = notify
        db.session.commit()
    return email


def operator_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Operator.id).where(Operator.email == email))


def visitor(client, app_id: str, body: dict | None = None) -> str:
    response = identify(client, app_id, body or {"id": None})
    assert response.status_code == 200, response.json
    return response.json["session"]


def start(client, app_id: str, session: str, body: str = "Hello, I need help") -> int:
    response = client.post(
        f"/widget/v1/apps/{app_id}/conversations",
        json={"body": body},
        headers={"X-Promptify-Session": session},
    )
    assert response.status_code == 201, response.json
    return response.json["conversation"]["id"]


def post(client, app_id: str, session: str, conversation_id: int, body: str) -> int:
    response = client.post(
        f"/widget/v1/apps/{app_id}/conversations/{conversation_id}/messages",
        json={"body": body},
        headers={"X-Promptify-Session": session},
    )
    assert response.status_code == 201, response.json
    return response.json["message"]["id"]


def as_operator(app, email: str, conversation_id: int, action: Callable[..., Any]) -> Any:
    with app.app_context():
        operator = db.session.scalar(select(Operator).where(Operator.email == email))
        conversation = db.session.get(Conversation, conversation_id)
        return action(conversation, operator)


def reply(app, email: str, conversation_id: int, body: str) -> int:
    def action(conversation, operator):
        policy = Policy.from_config(app.config)
        return teamwork.reply(conversation, operator, body, now=app_clock.now(), policy=policy).id

    return as_operator(app, email, conversation_id, action)


def read(app, email: str, conversation_id: int) -> None:
    as_operator(app, email, conversation_id, lambda c, o: teamwork.mark_read(o, c))


def send(app) -> mail.SendReport:
    """One `send_pending` pass at the test clock's time, as the background sender makes it."""
    with app.app_context():
        settings = mail.MailSettings.from_config(app.config)
        assert settings is not None
        policy = Policy.from_config(app.config)
        return mail.send_pending(settings, now=app_clock.now(), policy=policy)


def rows(app) -> list[EmailOutbox]:
    with app.app_context():
        found = list(db.session.scalars(select(EmailOutbox).order_by(EmailOutbox.id)))
        db.session.expunge_all()
        return found


def signed_visitor(app, client, app_id: str, clock, email: str = "jane@example.com") -> str:
    key = make_private_key("Ed25519")
    add_key(app, app_id, key)
    claims = {"id": "jane", "email": email, "exp": int(clock.current.timestamp()) + 300}
    return visitor(client, app_id, {"jwt": sign(key, claims)})


@pytest.fixture
def background_sender(app):
    """Ask for the background sender in this test (tests otherwise never run one)."""
    app.config.update(MAIL_SENDER=True, MAIL_POLL_SECONDS=0.05)
    yield lambda: app.extensions.get(mail.SENDER_EXTENSION)
    running = app.extensions.pop(mail.SENDER_EXTENSION, None)
    if running is not None:
        running.stop()


# --- operators ---------------------------------------------------------------------------------


def test_every_active_operator_gets_one_email_per_burst_with_a_link(
    mail_app, client, app_id, smtp_server, clock
):
    app = mail_app
    admin, agent = make_operator(app, "ann", "admin"), make_operator(app, "bob")
    quiet = make_operator(app, "cy", notify=False)
    gone = make_operator(app, "dee")
    with app.app_context():
        operators.deactivate(db.session.scalar(select(Operator).where(Operator.email == gone)))

    session = visitor(client, app_id, {"id": "v1", "name": "Vera Visitor"})
    conversation_id = start(client, app_id, session, "My invoice is wrong")
    clock.advance(seconds=10)
    post(client, app_id, session, conversation_id, "It says 300 instead of 30")
    clock.advance(seconds=10)
    post(client, app_id, session, conversation_id, "Hello?")

    clock.advance(seconds=DELAY - 21)  # the first message is 119 s old
    assert send(app).sent == 0
    clock.advance(seconds=1)
    assert send(app).sent == 2
    assert send(app).sent == 0  # each email goes out once

    assert sorted(r.recipients for r in smtp_server.received) == [(admin,), (agent,)]
    assert smtp_server.to(quiet) == smtp_server.to(gone) == []
    email = smtp_server.to(agent)[0].email
    assert email["From"] == SENDER
    assert email["Subject"] == "3 new messages from Vera Visitor (Acme support)"
    assert email["Auto-Submitted"] == "auto-generated"
    text = smtp_server.to(agent)[0].text
    for body in ("My invoice is wrong", "It says 300 instead of 30", "Hello?"):
        assert f"> {body}" in text
    assert f"{CONSOLE}/inbox/{conversation_id}\n" in text
    assert [(r.state, r.attempts) for r in rows(app)] == [(OutboxState.SENT, 1)] * 2


def test_the_assignee_alone_is_emailed(mail_app, client, app_id, smtp_server, clock):
    app = mail_app
    admin, agent = make_operator(app, "ann", "admin"), make_operator(app, "bob")
    session = visitor(client, app_id)
    conversation_id = start(client, app_id, session)
    read(app, admin, conversation_id)
    read(app, agent, conversation_id)
    as_operator(
        app,
        admin,
        conversation_id,
        lambda c, o: teamwork.assign(c, operator_id(app, agent), operator=o, now=app_clock.now()),
    )

    post(client, app_id, session, conversation_id, "Are you there?")
    clock.advance(seconds=DELAY)
    assert send(app).sent == 1
    assert [r.recipients for r in smtp_server.received] == [(agent,)]
    assert "> Are you there?" in smtp_server.received[0].text
    assert "Hello, I need help" not in smtp_server.received[0].text  # read before the burst


def test_nothing_is_sent_for_messages_read_in_time(mail_app, client, app_id, smtp_server, clock):
    app = mail_app
    admin, agent = make_operator(app, "ann", "admin"), make_operator(app, "bob")
    conversation_id = start(client, app_id, visitor(client, app_id))
    clock.advance(seconds=DELAY - 1)
    read(app, admin, conversation_id)
    clock.advance(seconds=1)

    report = send(app)
    assert (report.sent, report.skipped) == (1, 1)
    assert [r.recipients for r in smtp_server.received] == [(agent,)]
    assert [r.operator_id for r in rows(app)] == [operator_id(app, agent)]  # the other is gone


def test_a_message_after_a_read_waits_its_own_delay(mail_app, client, app_id, smtp_server, clock):
    app = mail_app
    admin, agent = make_operator(app, "ann", "admin"), make_operator(app, "bob")
    session = visitor(client, app_id)
    conversation_id = start(client, app_id, session, "First")
    clock.advance(seconds=100)
    read(app, admin, conversation_id)
    clock.advance(seconds=10)
    post(client, app_id, session, conversation_id, "Second")  # same burst: no new row

    clock.advance(seconds=10)  # the first message is due; the admin only has "Second" unread
    assert send(app).sent == 1
    assert [r.recipients for r in smtp_server.received] == [(agent,)]
    assert "> First" in smtp_server.received[0].text and "> Second" in smtp_server.received[0].text

    clock.advance(seconds=DELAY - 11)
    assert send(app).sent == 0
    clock.advance(seconds=1)  # "Second" is now 120 s old
    assert send(app).sent == 1
    assert len(smtp_server.to(admin)) == 1
    assert "> Second" in smtp_server.to(admin)[0].text
    assert "First" not in smtp_server.to(admin)[0].text


def test_messages_after_an_email_make_a_new_burst(mail_app, client, app_id, smtp_server, clock):
    app = mail_app
    agent = make_operator(app, "bob")
    session = visitor(client, app_id)
    conversation_id = start(client, app_id, session, "First")
    clock.advance(seconds=DELAY)
    assert send(app).sent == 1

    post(client, app_id, session, conversation_id, "Second")
    clock.advance(seconds=30)
    post(client, app_id, session, conversation_id, "Third")
    clock.advance(seconds=DELAY - 30)
    assert send(app).sent == 1
    first, second = smtp_server.to(agent)
    assert "> First" in first.text
    assert "> Second" in second.text and "> Third" in second.text and "First" not in second.text


# --- the visitor -------------------------------------------------------------------------------


def test_a_verified_visitor_is_emailed_unread_replies_at_the_signed_address(
    mail_app, client, app_id, smtp_server, clock
):
    app = mail_app
    agent = make_operator(app, "bob")
    session = signed_visitor(app, client, app_id, clock)
    conversation_id = start(client, app_id, session)
    read(app, agent, conversation_id)
    reply(app, agent, conversation_id, "We refunded the difference.")
    clock.advance(seconds=30)
    reply(app, agent, conversation_id, "It shows on your next invoice.")

    clock.advance(seconds=DELAY - 30)
    assert send(app).sent == 1
    [received] = smtp_server.received
    assert received.recipients == ("jane@example.com",)
    assert received.email["Subject"] == "New reply from Acme support"
    assert "Bob:\n> We refunded the difference.\n" in received.text
    assert "> It shows on your next invoice." in received.text


def test_a_reply_the_visitor_read_in_time_is_not_emailed(
    mail_app, client, app_id, smtp_server, clock
):
    app = mail_app
    agent = make_operator(app, "bob")
    session = signed_visitor(app, client, app_id, clock)
    conversation_id = start(client, app_id, session)
    read(app, agent, conversation_id)
    reply_id = reply(app, agent, conversation_id, "Done.")
    clock.advance(seconds=DELAY - 1)
    response = client.post(
        f"/widget/v1/apps/{app_id}/conversations/{conversation_id}/read",
        json={"lastMessageId": reply_id},
        headers={"X-Promptify-Session": session},
    )
    assert response.status_code == 204
    clock.advance(seconds=1)
    assert (send(app).sent, smtp_server.received) == (0, [])


def test_an_unsigned_email_is_never_written_to(mail_app, client, app_id, smtp_server, clock):
    app = mail_app
    agent = make_operator(app, "bob")
    session = visitor(client, app_id, {"id": "u2", "name": "Eve", "email": "victim@example.com"})
    conversation_id = start(client, app_id, session)
    read(app, agent, conversation_id)
    reply(app, agent, conversation_id, "Here is your account's reset link")
    assert [r.recipient for r in rows(app)] == [Recipient.OPERATOR]  # the visitor's message only

    clock.advance(seconds=DELAY * 10)
    assert send(app).sent == 0
    assert smtp_server.received == []


# --- failures, the command, the background sender ------------------------------------------


def test_a_refused_connection_is_retried_with_backoff_until_delivered(app, client, app_id, clock):
    port = free_port()  # nothing listens there yet
    use_smtp(app, port)
    agent = make_operator(app, "bob")
    start(client, app_id, visitor(client, app_id))
    clock.advance(seconds=DELAY)

    assert send(app).failed == 1
    [row] = rows(app)
    assert (row.state, row.attempts) == (OutboxState.PENDING, 1)
    assert "ConnectionRefusedError" in (row.last_error or "")
    assert row.next_attempt_at == clock.current + outbox.backoff(1)
    assert send(app).failed == 0  # not before its time

    clock.advance(seconds=60)
    assert send(app).failed == 1
    [row] = rows(app)
    assert row.attempts == 2 and row.next_attempt_at == clock.current + outbox.backoff(2)
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 7, 12)] == [
        60,
        120,
        240,
        3600,
        3600,
    ]

    server = SmtpInbox(port).start()  # the mail server is back
    try:
        clock.advance(seconds=119)
        assert send(app).sent == 0
        clock.advance(seconds=1)
        assert send(app).sent == 1
        assert send(app).sent == 0
        assert [r.recipients for r in server.received] == [(agent,)]
        [row] = rows(app)
        assert (row.state, row.attempts, row.sent_to) == (OutboxState.SENT, 3, agent)
    finally:
        server.stop()


def test_a_refused_recipient_is_given_up_at_once(mail_app, client, app_id, smtp_server, clock):
    app = mail_app
    admin, agent = make_operator(app, "ann", "admin"), make_operator(app, "bob")
    smtp_server.refused.add(admin)
    start(client, app_id, visitor(client, app_id))
    clock.advance(seconds=DELAY)

    report = send(app)
    assert (report.sent, report.failed) == (1, 1)  # the same connection went on
    assert [r.recipients for r in smtp_server.received] == [(agent,)]
    by_operator = {r.operator_id: r for r in rows(app)}
    refused = by_operator[operator_id(app, admin)]
    assert (refused.state, refused.attempts) == (OutboxState.FAILED, 1)
    assert "550" in (refused.last_error or "")
    clock.advance(hours=24)
    assert send(app).failed == 0


def test_the_send_pending_command(mail_app, client, app_id, smtp_server, clock, runner):
    app = mail_app
    make_operator(app, "ann", "admin")
    make_operator(app, "bob")
    start(client, app_id, visitor(client, app_id))
    clock.advance(seconds=DELAY)

    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "sent\t2\nfailed\t0\nskipped\t0\n"
    assert len(smtp_server.received) == 2
    assert runner.invoke(args=["mail", "send-pending"]).stdout == "sent\t0\nfailed\t0\nskipped\t0\n"

    app.config["SMTP_URL"] = None
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code != 0 and "PROMPTIFY_SMTP_URL is not set" in result.output


def test_concurrent_senders_send_each_email_once(mail_app, client, app_id, smtp_server, clock):
    app = mail_app
    team = [make_operator(app, name) for name in ("ann", "bob", "cy")]
    for n in range(8):
        start(client, app_id, visitor(client, app_id, {"id": f"v{n}"}), f"Question {n}")
    clock.advance(seconds=DELAY)

    barrier = threading.Barrier(4)
    reports: list[mail.SendReport] = []

    def sender() -> None:
        barrier.wait()
        reports.append(send(app))

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sum(r.sent for r in reports) == 24
    received = sorted((r.recipients, r.email["Subject"]) for r in smtp_server.received)
    assert len(received) == len(set(received)) == 24
    assert {r.recipients[0] for r in smtp_server.received} == set(team)


def test_posting_stays_fast_while_the_mail_server_refuses(
    app, client, app_id, clock, background_sender
):
    use_smtp(app, free_port())
    make_operator(app, "bob")
    session = visitor(client, app_id)
    conversation_id = start(client, app_id, session)
    clock.advance(seconds=DELAY)
    with app.app_context():  # the first request started the sender; it fails in the background
        deadline = time.monotonic() + 15
        while db.session.scalar(select(func.max(EmailOutbox.attempts))) == 0:
            assert time.monotonic() < deadline, "the background sender made no attempt"
            time.sleep(0.02)
            db.session.rollback()

    for n in range(10):
        started = time.monotonic()
        post(client, app_id, session, conversation_id, f"Still waiting ({n})")
        assert time.monotonic() - started < 1.0
    assert background_sender() is not None


def test_the_background_sender_delivers_once(
    mail_app, client, app_id, smtp_server, clock, background_sender
):
    app = mail_app
    admin, agent = make_operator(app, "ann", "admin"), make_operator(app, "bob")
    session = visitor(client, app_id)
    start(client, app_id, session)
    assert background_sender() is not None  # started by the first request
    clock.advance(seconds=DELAY)

    received = smtp_server.wait_for(2)
    assert sorted(r.recipients for r in received) == [(admin,), (agent,)]
    time.sleep(0.3)  # several more passes of the sender: nothing is sent again
    assert len(smtp_server.received) == 2


# --- without an SMTP server --------------------------------------------------------------------


def test_without_smtp_nothing_is_queued_and_the_team_page_says_so(
    app, client, app_id, clock, login, background_sender
):
    admin = login("admin")
    session = signed_visitor(app, client, app_id, clock)
    conversation_id = start(client, app_id, session)
    reply(app, admin, conversation_id, "An answer")
    clock.advance(seconds=DELAY)

    assert rows(app) == []
    assert background_sender() is None
    page = client.get("/settings/team").get_data(as_text=True)
    assert "Email notifications are off." in page and "PROMPTIFY_SMTP_URL" in page

    use_smtp(app, free_port())
    page = client.get("/settings/team").get_data(as_text=True)
    assert "Email notifications are off." not in page and 'id="email-links"' not in page
    app.config["CONSOLE_URL"] = None
    assert 'id="email-links"' in client.get("/settings/team").get_data(as_text=True)
    csrf_token_from(page)  # still a normal console page


def test_smtp_urls():
    plain = mail.SmtpServer.from_url("smtp://mail.internal:2525")
    assert (plain.host, plain.port, plain.security, plain.username) == (
        "mail.internal",
        2525,
        "plain",
        None,
    )
    starttls = mail.SmtpServer.from_url("smtp+starttls://app%40acme.test:s3cr%2Ft@smtp.acme.test")
    assert (starttls.port, starttls.security) == (587, "starttls")
    assert (starttls.username, starttls.password) == ("app@acme.test", "s3cr/t")
    assert "s3cr" not in repr(starttls)
    tls = mail.SmtpServer.from_url("smtps://app:secret@smtp.acme.test")
    assert (tls.port, tls.security) == (465, "tls")
    for url in ("http://smtp.acme.test", "smtp://", "smtp://user:secret@smtp.acme.test"):
        with pytest.raises(ValueError) as refused:
            mail.SmtpServer.from_url(url)
        assert "secret" not in str(refused.value)
