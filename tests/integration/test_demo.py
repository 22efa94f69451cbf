"""The demo server's access log: successful polls are left out, errors and other requests are kept."""

from __future__ import annotations

import logging
import threading

import pytest
from werkzeug.test import Client, EnvironBuilder

from promptify.demo import QuietPolling, is_polling

POLL = "/widget/v1/apps/app_x/conversations"


def _ok(environ, start_response):  # a stand-in for the console app
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _access_line(request_line: str, status: str) -> logging.LogRecord:
    """A record as werkzeug's request handler logs it."""
    return logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        0,
        '127.0.0.1 - - [02/Dec/2026 10:00:00] "%s" %s %s',
        (request_line, status, "-"),
        None,
    )


def _served(quiet: QuietPolling, method: str, path: str, **headers: str) -> None:
    """Let the wrapped app serve a request in this thread, as the development server does before it
    logs the request's line."""
    Client(quiet.wrap(_ok)).open(path, method=method, headers=headers)


@pytest.mark.parametrize(
    ("method", "path", "headers", "polling"),
    [
        ("GET", POLL, {}, True),
        ("GET", "/widget/v1/apps/app_x/conversations/12/messages", {}, True),
        ("OPTIONS", "/widget/v1/apps/app_x/identify", {}, True),
        ("GET", "/inbox/12/poll", {}, True),
        ("GET", "/inbox", {"HX-Trigger": "conversation-list"}, True),
        ("GET", "/inbox", {}, False),  # a navigation, or a search from the filter form
        ("POST", POLL, {}, False),  # a visitor starting a conversation
        ("POST", "/widget/v1/apps/app_x/identify", {}, False),
        ("GET", "/inbox/12", {}, False),
        ("GET", "/healthz", {}, False),
    ],
)
def test_which_requests_are_polls(method, path, headers, polling):
    environ = EnvironBuilder(path=path, method=method, headers=headers).get_environ()
    assert is_polling(environ) is polling


def test_a_successful_poll_is_dropped_and_a_failed_one_kept():
    quiet = QuietPolling()
    _served(quiet, "GET", POLL + "?after=3")
    assert quiet.filter(_access_line(f"GET {POLL}?after=3 HTTP/1.1", "200")) is False
    assert quiet.filter(_access_line(f"GET {POLL}?after=3 HTTP/1.1", "304")) is False
    assert quiet.filter(_access_line(f"GET {POLL}?after=3 HTTP/1.1", "401")) is True
    assert quiet.filter(_access_line(f"GET {POLL}?after=3 HTTP/1.1", "500")) is True
    assert (
        quiet.filter(
            logging.LogRecord(  # werkzeug's other messages, e.g. a traceback
                "werkzeug",
                logging.ERROR,
                __file__,
                0,
                "Error on request:\n%s",
                ("Traceback ...",),
                None,
            )
        )
        is True
    )


def test_other_requests_are_kept():
    quiet = QuietPolling()
    _served(quiet, "POST", "/widget/v1/apps/app_x/identify")
    assert quiet.filter(_access_line("POST /widget/v1/apps/app_x/identify HTTP/1.1", "200")) is True
    _served(quiet, "GET", "/inbox")
    assert quiet.filter(_access_line("GET /inbox HTTP/1.1", "200")) is True
    _served(quiet, "GET", "/inbox", **{"HX-Trigger": "conversation-list"})
    assert quiet.filter(_access_line("GET /inbox?status=open&q= HTTP/1.1", "200")) is False


def test_requests_the_wrapped_app_did_not_serve_are_kept():
    """The host page's server logs through the same logger from threads of its own."""
    quiet = QuietPolling()
    _served(quiet, "GET", POLL)
    kept: list[bool] = []
    line = _access_line("GET /token HTTP/1.1", "200")
    other = threading.Thread(target=lambda: kept.append(quiet.filter(line)))
    other.start()
    other.join()
    assert kept == [True]


def test_installed_on_a_logger_it_silences_only_the_successful_poll():
    quiet = QuietPolling()
    logger = logging.getLogger("promptify.test_demo.access")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    logger.addFilter(quiet)
    access = '127.0.0.1 - - [02/Dec/2026 10:00:00] "%s" %s %s'
    try:
        _served(quiet, "GET", "/inbox/7/poll")
        logger.info(access, "GET /inbox/7/poll?after=9 HTTP/1.1", "204", "-")
        logger.info(access, "GET /inbox/7/poll?after=9 HTTP/1.1", "404", "-")
        _served(quiet, "GET", "/settings/team")
        logger.info(access, "GET /settings/team HTTP/1.1", "200", "-")
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(quiet)
    assert [line.split("] ", 1)[1] for line in lines] == [
        '"GET /inbox/7/poll?after=9 HTTP/1.1" 404 -',
        '"GET /settings/team HTTP/1.1" 200 -',
    ]
