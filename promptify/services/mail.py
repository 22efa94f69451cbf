"""Sending the queued notification emails over SMTP (docs/operations.md, "Email notifications"):
the server settings, the emails' text, a pass over what is due, and the background thread that
makes such passes in every server process. Nothing here runs inside a request.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

from promptify.models import Recipient
from promptify.services import outbox
from promptify.services.outbox import Notice
from promptify.services.policy import Policy

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 30  # seconds, per network operation
SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
SENDER_EXTENSION = "promptify.mail_sender"  # the process's BackgroundSender in app.extensions


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # "plain", "starttls" or "tls", from the URL's scheme
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never printed or logged

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """`smtp://host:port`, `smtp+starttls://user:password@host:587` or
        `smtps://user:password@host:465`; a ValueError (without the password) otherwise."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(
                f"PROMPTIFY_SMTP_URL: use smtp://, smtp+starttls:// or smtps://, not {scheme}://"
            )
        try:
            port = parts.port
        except ValueError:
            raise ValueError("PROMPTIFY_SMTP_URL: the port is not a number") from None
        if not parts.hostname:
            raise ValueError("PROMPTIFY_SMTP_URL names no host")
        security, default_port = SCHEMES[scheme]
        if parts.username is not None and security == "plain":
            raise ValueError(
                "PROMPTIFY_SMTP_URL: a user and password travel only over "
                "smtp+starttls:// or smtps://"
            )
        return cls(
            host=parts.hostname,
            port=port or default_port,
            security=security,
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    def connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
        try:
            if self.security == "starttls":
                connection.starttls(context=ssl.create_default_context())
            if self.username is not None:
                connection.login(self.username, self.password or "")
        except BaseException:
            connection.close()
            raise
        return connection


@dataclass(frozen=True)
class MailSettings:
    server: SmtpServer
    sender: str  # the From address
    console_url: str | None  # the console's public address, for links

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings | None:
        """None while PROMPTIFY_SMTP_URL is unset (no email at all); a ValueError when it is
        malformed."""
        url = config.get("SMTP_URL")
        if not url:
            return None
        return cls(
            server=SmtpServer.from_url(str(url)),
            sender=str(config.get("MAIL_FROM") or f"promptify@{socket.gethostname()}"),
            console_url=str(config["CONSOLE_URL"]).rstrip("/")
            if config.get("CONSOLE_URL")
            else None,
        )


# --- the emails --------------------------------------------------------------------------------


def conversation_link(settings: MailSettings, conversation_id: int) -> str:
    return f"{settings.console_url or ''}/inbox/{conversation_id}"


def compose(notice: Notice, settings: MailSettings, *, now: datetime) -> EmailMessage:
    """A plain-text email; header values are one line each, whatever the names contain."""
    count = len(notice.quotes) + notice.unquoted
    email = EmailMessage()
    email["From"] = settings.sender
    email["To"] = notice.to
    email["Date"] = format_datetime(now)
    email["Message-ID"] = message_id(notice, settings)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    if notice.recipient == Recipient.OPERATOR:
        plural = f"{count} new messages" if count > 1 else "New message"
        email["Subject"] = _one_line(f"{plural} from {notice.contact} ({notice.workspace})")
        email.set_content(_operator_text(notice, settings, plural))
    else:
        email["Subject"] = _one_line(f"New reply from {notice.workspace}")
        email.set_content(_contact_text(notice))
    return email


def _operator_text(notice: Notice, settings: MailSettings, plural: str) -> str:
    return "\n".join(
        [
            f"{plural} from {notice.contact} in {notice.workspace}, still unread:",
            "",
            *_quoted(notice, authors=False),
            "Open the conversation:",
            conversation_link(settings, notice.conversation_id),
            "",
            "-- ",
            "You can turn these emails off in your Promptify profile.",
        ]
    )


def _contact_text(notice: Notice) -> str:
    return "\n".join(
        [
            f"{notice.workspace} answered you:",
            "",
            *_quoted(notice, authors=True),
            "To answer, open the chat on our website where you wrote to us.",
            "Replies to this email are not read.",
        ]
    )


def _quoted(notice: Notice, *, authors: bool) -> list[str]:
    lines: list[str] = []
    if notice.unquoted:
        lines += [f"[{notice.unquoted} earlier message(s) not shown]", ""]
    previous = None
    for quote in notice.quotes:
        if authors and quote.author != previous:
            lines.append(f"{quote.author}:")
            previous = quote.author
        lines += [f"> {line}" for line in quote.body.splitlines() or [""]]
        lines.append("")
    return lines


def message_id(notice: Notice, settings: MailSettings) -> str:
    """The same for every attempt at one email, so that a receiver can drop a copy sent again
    after a sender died between sending and recording it."""
    stamp = int(notice.queued_at.timestamp() * 1_000_000)
    return f"<promptify.{notice.outbox_id}.{stamp}@{_domain(settings.sender)}>"


def _one_line(text: str, limit: int = 120) -> str:
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "promptify.invalid"


# --- a pass over what is due -----------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0  # attempts that failed: retried later, or given up
    skipped: int = 0  # read in time, or the recipient no longer qualifies


def send_pending(settings: MailSettings, *, now: datetime, policy: Policy) -> SendReport:
    """Send every email due at `now`, a claimed batch at a time, one SMTP connection per batch;
    the pass ends early when the mail server cannot be reached (the rest waits for the next)."""
    report = SendReport()
    while True:
        claim = outbox.claim_due(now=now, policy=policy)
        report.skipped += claim.skipped
        if claim.notices and not _deliver(claim.notices, settings, now=now, report=report):
            return report
        if not claim.looked_at:
            return report


def _deliver(
    notices: list[Notice], settings: MailSettings, *, now: datetime, report: SendReport
) -> bool:
    """Send a claimed batch; False when the mail server could not be reached."""
    # Past this, the lease may run out and another sender take the rest: leave it to them.
    deadline = time.monotonic() + outbox.LEASE.total_seconds() - 2 * SMTP_TIMEOUT
    try:
        connection = settings.server.connect()
    except (OSError, smtplib.SMTPException) as error:
        for notice in notices:
            _failed(notice, error, now=now, report=report)
        return False
    try:
        for index, notice in enumerate(notices):
            if time.monotonic() > deadline:
                return True
            try:
                email = compose(notice, settings, now=now)
            except ValueError as error:  # an address the email package refuses
                _failed(notice, error, now=now, report=report, permanent=True)
                continue
            try:
                connection.send_message(email, to_addrs=[notice.to])
            except (
                smtplib.SMTPRecipientsRefused,
                smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError,
                smtplib.SMTPNotSupportedError,  # e.g. a non-ASCII address without SMTPUTF8
            ) as error:  # this email only; the connection goes on
                _failed(notice, error, now=now, report=report, permanent=_permanent(error))
            except (OSError, smtplib.SMTPException) as error:  # the connection is gone
                for rest in notices[index:]:
                    _failed(rest, error, now=now, report=report)
                return False
            else:
                outbox.record_sent(notice, now=now)
                report.sent += 1
        return True
    finally:
        with suppress(OSError, smtplib.SMTPException):
            connection.quit()


def _permanent(error: smtplib.SMTPException) -> bool:
    """A 5xx answer about this email itself: sending it again cannot help. (A refused sender
    is the server's configuration, which an admin can fix: that one is retried.)"""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPDataError) and error.smtp_code >= 500


def _failed(
    notice: Notice, error: Exception, *, now: datetime, report: SendReport, permanent: bool = False
) -> None:
    description = f"{type(error).__name__}: {error}"
    retried = outbox.record_failure(notice, description, now=now, permanent=permanent)
    report.failed += 1
    log.warning(
        "notification email %s not sent (attempt %s, %s): %s",
        notice.outbox_id,
        notice.attempts + 1,
        "will retry" if retried else "given up",
        description,
    )


# --- the background sender -------------------------------------------------------------------


class BackgroundSender:
    """A daemon thread that calls `send_once` every `interval` seconds until `stop()`."""

    def __init__(self, send_once: Callable[[], object], interval: float) -> None:
        self.pid = os.getpid()  # a forked child needs a thread of its own
        self._send_once = send_once
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="promptify-mail", daemon=True)

    def start(self) -> BackgroundSender:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        last_problem = None
        while not self._stopping.is_set():
            try:
                self._send_once()
                last_problem = None
            except Exception as error:  # noqa: BLE001 - the thread must outlive any failure
                problem = f"{type(error).__name__}: {error}"
                if problem != last_problem:  # once, not every few seconds
                    log.error("email sender: %s (trying again every %s s)", problem, self._interval)
                last_problem = problem
            self._stopping.wait(self._interval)
