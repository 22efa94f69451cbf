"""The embeddable widget on a customer's page served from ANOTHER origin, as in production:
queued calls, anonymous chat, identification, reset, shadow-DOM isolation from host CSS."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.wrappers import Request, Response

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import Conversation
from promptify.services import operators, teamwork
from tests.browser.conftest import LiveServer, screenshot
from tests.factories import make_workspace

# Deliberately hostile host CSS: none of it may reach the widget.
HOST_CSS = """
button { all: unset; color: red !important; font-family: serif !important; }
div { opacity: .3; font-size: 40px; }
* { font-family: "Comic Sans MS", cursive !important; letter-spacing: 3px; }
ul, ol, li { list-style: square; color: red; }
"""

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme host page</title><link rel="icon" href="data:,">
<style>{css}</style>
<script>
// the documented host-side stub, then a call made before promptify.js has loaded
window.promptify = window.promptify || (function (p) {{
  ["setUser", "reset", "open", "close"].forEach(function (m) {{
    p[m] = function () {{
      var a = [].slice.call(arguments);
      return new Promise(function (resolve, reject) {{ p.q.push([m, a, resolve, reject]); }});
    }};
  }});
  return p;
}})({{ q: [] }});
window.early = promptify.setUser({{ id: null }}).then(function (c) {{ return c; }});
</script>
</head><body>
<h1>Acme App</h1><p>A customer's page on another origin.</p><button id="host-button">Host button</button>
<script src="{widget}/widget/v1/promptify.js" data-app-id="{app_id}" async></script>
</body></html>"""


class HostPage:
    """The customer's page, served by a second server on another origin (localhost vs 127.0.0.1)."""

    def __init__(self) -> None:
        self.html = ""
        self.url = ""

    @Request.application
    def wsgi(self, request: Request) -> Response:
        if request.path != "/":
            return Response("not found", 404)
        return Response(self.html, mimetype="text/html")


@pytest.fixture
def host_page() -> Iterator[HostPage]:
    page = HostPage()
    with LiveServer(page.wsgi) as server:
        page.url = server.url.replace("127.0.0.1", "localhost")
        yield page


@pytest.fixture
def app_id(app, host_page, live_url):
    app_id = make_workspace(app, origins=[host_page.url])
    host_page.html = HOST_PAGE.format(css=HOST_CSS, widget=html.escape(live_url), app_id=app_id)
    return app_id


def _shadow_count(page, selector: str) -> int:
    return page.evaluate(
        "s => document.querySelector('[data-promptify]').shadowRoot.querySelectorAll(s).length",
        selector,
    )


def _agent_replies(app, text: str) -> None:
    with app.app_context():
        operator = operators.create_operator(
            "sam@support.test", "Sam", "agent", "a long password", now=app_clock.now()
        )
        conversation = db.session.scalars(select(Conversation)).one()
        teamwork.reply(conversation, operator, text, now=app_clock.now())


def test_visitor_chats_anonymously_then_identifies_then_resets(app, app_id, host_page, page):
    page.goto(host_page.url)
    assert page.evaluate("window.early")["anonymous"] is True  # the queued call ran after load
    launcher = page.get_by_role("button", name="Open support chat")
    expect(launcher).to_be_visible()
    cookie = {c["name"]: c for c in page.context.cookies()}[f"promptify_session_{app_id}"]
    assert cookie["sameSite"] == "Lax" and cookie["path"] == "/"

    launcher.click()
    dialog = page.get_by_role("dialog", name="Support chat")
    expect(dialog).to_contain_text("No conversations yet")
    page.get_by_role("button", name="Start a new conversation").click()
    message = page.get_by_label("Message", exact=True)
    expect(message).to_be_focused()
    message.fill("Hi! <img src=x onerror=alert(1)> where is the export?")
    page.get_by_role("button", name="Send message").click()
    expect(dialog).to_contain_text("<img src=x onerror=alert(1)> where is the export?")
    assert _shadow_count(page, "img") == 0  # text is text

    _agent_replies(app, "Reports, top right.")
    expect(dialog).to_contain_text("Reports, top right.", timeout=10_000)  # polled every 4 s
    expect(dialog).to_contain_text("Sam")
    screenshot(page, "widget-anonymous-thread")

    contact = page.evaluate("promptify.setUser({id: 'user-7', name: 'Nina'})")
    assert (contact["id"], contact["name"]) == ("user-7", "Nina")
    expect(dialog).to_contain_text("Messages")  # a new session: the view starts over…
    expect(dialog.locator("li")).to_have_count(1)  # …and the merged conversation is hers
    expect(dialog).to_contain_text("Reports, top right.")
    screenshot(page, "widget-identified")

    visible_right_after_reset = page.evaluate(
        "() => { promptify.reset(); return document.querySelector('[data-promptify]').shadowRoot"
        ".querySelectorAll('li').length; }"
    )
    assert visible_right_after_reset == 0  # cleared synchronously, before the server answers
    expect(dialog).to_contain_text("No conversations yet")
    expect(dialog).not_to_contain_text("export")
    screenshot(page, "widget-after-reset")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Open support chat")).to_be_focused()
    assert page.console_errors == []


def test_rejected_set_user_is_explained_in_the_console(app_id, host_page, page):
    page.goto(host_page.url)
    page.evaluate("window.early")
    error = page.evaluate(
        "promptify.setUser({id: 'u1', avatarUrl: 'http://x.test/a.png'}).catch(e => e)"
    )
    assert (error["code"], error["field"]) == ("invalid_field", "avatarUrl")
    assert error["message"]
    assert any(
        e.startswith("Promptify: setUser rejected (invalid_field at avatarUrl): ")
        for e in page.console_errors
    ), page.console_errors


def test_host_css_does_not_reach_the_widget(app_id, host_page, page):
    page.goto(host_page.url)
    launcher = page.get_by_role("button", name="Open support chat")
    expect(launcher).to_be_visible()
    styles = launcher.evaluate(
        "b => { const s = getComputedStyle(b), h = getComputedStyle(b.getRootNode().host);"
        " return [s.color, s.backgroundColor, s.fontFamily, s.letterSpacing, h.opacity, h.position]; }"
    )
    assert styles[0] != "rgb(255, 0, 0)" and styles[1] == "rgb(36, 87, 214)"
    assert "Comic" not in styles[2] and "serif" != styles[2]
    assert styles[3] == "normal" and styles[4] == "1" and styles[5] == "fixed"
    host_button = page.locator("#host-button").evaluate("b => getComputedStyle(b).color")
    assert host_button == "rgb(255, 0, 0)"  # the host's own CSS still applies to the host page
    launcher.click()
    expect(page.get_by_role("dialog", name="Support chat")).to_be_visible()
    screenshot(page, "widget-host-css")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "widget-phone")
