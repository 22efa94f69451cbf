"""The demo: the server's access log leaves out successful polls and keeps errors and other
requests; the host page (a customer's app on another origin) is a template with its own script and
stylesheet, served under a strict Content-Security-Policy that lets the widget in, and shipped with
the package."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import OKPKey
from werkzeug.test import Client, EnvironBuilder

from promptify.demo import QuietPolling, is_polling
from promptify.demo.host import create_host_app
from promptify.identity.tokens import jws_registry
from tests.factories import make_private_key, private_pem, public_pem
from tests.integration.test_settings_installation import _Tags, assert_csp_clean

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "promptify" / "demo"
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


# --- the host page --------------------------------------------------------------------------

APP_ID = "app_demo"
CONSOLE = "http://127.0.0.1:5391"  # the console's origin, as `promptify demo --serve` passes it


@pytest.fixture
def host_key():
    return make_private_key("Ed25519")


@pytest.fixture
def host(tmp_path, host_key):
    key_file = tmp_path / "ed25519-private.pem"
    key_file.write_text(private_pem(host_key))
    app = create_host_app(app_id=APP_ID, widget_base=CONSOLE, private_key_path=key_file)
    return app.test_client()


def _policy(header: str) -> dict[str, list[str]]:
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


def _fetch(host, path: str) -> tuple[str, str, bytes]:
    response = host.get(path)
    assert response.status_code == 200, path
    body = response.get_data()
    response.close()  # a file response holds the file open until closed
    return response.mimetype, response.headers["Content-Security-Policy"], body


def test_host_page_is_served_with_a_strict_policy_that_lets_the_widget_in(host):
    response = host.get("/")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = _policy(response.headers["Content-Security-Policy"])
    # docs/widget-api.md, "The widget script": the Promptify server in script-src and connect-src.
    assert policy["script-src"] == ["'self'", CONSOLE]
    assert policy["connect-src"] == ["'self'", CONSOLE]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'none'"]
    assert policy["object-src"] == policy["base-uri"] == policy["frame-ancestors"] == ["'none'"]
    sources = [source for values in policy.values() for source in values]
    assert not [s for s in sources if s.startswith(("'unsafe-", "'nonce-", "'sha")) or s == "*"]


def test_host_page_and_its_template_are_csp_clean(host):
    page = host.get("/").get_data(as_text=True)
    assert_csp_clean(page)
    assert_csp_clean((DEMO / "templates" / "host.html").read_text(encoding="utf-8"))
    tags = _Tags(page).tags
    scripts = [attrs["src"] for tag, attrs in tags if tag == "script"]
    styles = [
        attrs["href"] for tag, attrs in tags if tag == "link" and attrs["rel"] == "stylesheet"
    ]
    # the stub in host.js must run before the widget script so early calls are queued
    assert scripts == ["/static/host.js", f"{CONSOLE}/widget/v1/promptify.js"]
    assert styles == ["/static/host.css"]
    assert (
        f'<script src="{CONSOLE}/widget/v1/promptify.js" data-app-id="{APP_ID}"></script>' in page
    )


def test_host_script_and_stylesheet_are_the_files_beside_the_app(host):
    assert _fetch(host, "/static/host.js")[0::2] == (
        "text/javascript",
        (DEMO / "static" / "host.js").read_bytes(),
    )
    assert _fetch(host, "/static/host.css")[0::2] == (
        "text/css",
        (DEMO / "static" / "host.css").read_bytes(),
    )
    assert _fetch(host, "/static/host.js")[1] == host.get("/").headers["Content-Security-Policy"]


def test_host_script_drives_the_buttons_of_the_page(host):
    """Every element host.js looks up is on the page, and it stays within the policy."""
    page = host.get("/").get_data(as_text=True)
    script = (DEMO / "static" / "host.js").read_text(encoding="utf-8")
    ids = {attrs["id"] for _, attrs in _Tags(page).tags if "id" in attrs}
    wanted = set(re.findall(r'getElementById\("([^"]+)"\)', script))
    assert wanted == {"result", "renewals", "anonymous", "unsigned", "signed", "switch", "reset"}
    assert wanted <= ids
    for forbidden in ("innerHTML", "eval(", "new Function", "document.write", '"style"'):
        assert forbidden not in script, forbidden


def test_host_script_is_valid_javascript():
    node = shutil.which("node")
    if not node:
        if os.environ.get("CI") == "true":
            pytest.fail("checking the demo's host.js needs node under CI")
        pytest.skip("node is not installed")
    result = subprocess.run(
        [node, "--check", str(DEMO / "static" / "host.js")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_host_signs_tokens_for_its_two_users_only(host, host_key):
    token = host.get("/token?id=user-456").get_data(as_text=True)
    claims = jwt.decode(
        token, OKPKey.import_key(public_pem(host_key)), registry=jws_registry("Ed25519")
    ).claims
    assert (claims["id"], claims["name"], claims["aud"]) == ("user-456", "Max Mustermann", APP_ID)
    assert host.get("/token?id=user-789").status_code == 404


def test_a_built_package_carries_every_template_and_static_file(tmp_path):
    """What `pip install` (not editable) copies, from the package data of pyproject.toml."""
    source = tmp_path / "source"
    shutil.copytree(
        ROOT / "promptify", source / "promptify", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = tmp_path / "lib"
    result = subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py"]
        + ["--build-lib", str(built)],
        cwd=source,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    package = ROOT / "promptify"
    folders = ("templates", "static", "demo/templates", "demo/static")
    wanted = {
        path.relative_to(package)
        for folder in folders
        for path in (package / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert {Path("demo/templates/host.html"), Path("demo/static/host.js")} <= wanted
    missing = sorted(str(p) for p in wanted if not (built / "promptify" / p).is_file())
    assert missing == []
