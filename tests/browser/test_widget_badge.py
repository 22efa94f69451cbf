"""The widget's unread badge and read receipts, on a customer's page served from ANOTHER origin
(docs/widget-api.md, "The widget script").

While the panel is closed the widget polls the conversation list (every 30 s, only while the page
is visible, with `If-None-Match`) and shows the unread agent replies on the launcher; showing a
thread reports it read, so the badge clears and stays cleared. The browser's timers run on
Playwright's clock, so 30 s pass without waiting for them.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.wrappers import Request, Response

from promptify.extensions import db
from promptify.models import Conversation, Operator
from promptify.services import operators, teamwork
from tests.browser.conftest import LiveServer, screenshot
from tests.conftest import Clock
from tests.factories import make_workspace

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme host page</title><link rel="icon" href="data:,">
</head><body><h1>Acme App</h1>
<script src="{widget}/widget/v1/promptify.js" data-app-id="{app_id}" async></script>
</body></html>"""

# The page's visibility as the widget reads it; the event is the one a browser fires on a tab switch.
SET_VISIBILITY = """hidden => {
  Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
  Object.defineProperty(document, "visibilityState", {
    value: hidden ? "hidden" : "visible", configurable: true
  });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


@pytest.fixture
def host_url(app, live_url) -> Iterator[str]:
    """The customer's page, served by a second server on another origin (localhost vs 127.0.0.1)."""
    page: list[str] = []

    @Request.application
    def serve(request: Request) -> Response:
        if request.path != "/" or not page:
            return Response("not found", 404)
        return Response(page[0], mimetype="text/html")

    with LiveServer(serve) as server:
        url = server.url.replace("127.0.0.1", "localhost")
        app_id = make_workspace(app, origins=[url])
        page.append(HOST_PAGE.format(widget=html.escape(live_url), app_id=app_id))
        yield url


@pytest.fixture
def agent_replies(app, clock: Clock):
    """`agent_replies(text)`: an agent answers the only conversation; returns the message id."""
    with app.app_context():
        operator_id = operators.create_operator(
            "sam@support.test", "Sam", "agent", "a long password", now=clock.current
        ).id

    def reply(text: str) -> int:
        with app.app_context():
            conversation = db.session.scalars(select(Conversation)).one()
            operator = db.session.get_one(Operator, operator_id)
            return teamwork.reply(conversation, operator, text, now=clock.advance(seconds=1)).id

    return reply


def _is_list(response) -> bool:  # type: ignore[no-untyped-def]
    return response.request.method == "GET" and response.url.endswith("/conversations")


def _is_read(response) -> bool:  # type: ignore[no-untyped-def]
    return response.request.method == "POST" and response.url.endswith("/read")


def _start_conversation(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Open support chat").click()
    page.get_by_role("button", name="Start a new conversation").click()
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("dialog", name="Support chat")).to_contain_text(text)


def _read_mark(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalars(select(Conversation.contact_read_message_id)).one()


def test_badge_counts_a_reply_while_closed_and_reading_it_clears_it(
    app, host_url, page, agent_replies
):
    page.clock.install()
    page.goto(host_url)
    _start_conversation(page, "Where do I find my invoices?")
    with page.expect_response(_is_list):  # the list, drawn while the panel is open
        page.get_by_role("button", name="Back to conversations").click()
    page.keyboard.press("Escape")
    launcher = page.locator(".launcher")
    count = page.locator(".count")
    expect(launcher).to_have_attribute("aria-label", "Open support chat")

    polled: list[int] = []
    page.on("response", lambda r: polled.append(r.status) if _is_list(r) else None)
    page.clock.run_for(28_000)
    page.wait_for_timeout(300)
    assert polled == []  # closed: at most every 30 s
    reply_id = agent_replies("Under Billing, top right.")
    expect(count).to_be_hidden()

    with page.expect_response(_is_list) as first:
        page.clock.run_for(3_000)
    assert first.value.status == 200
    assert [c["unread"] for c in first.value.json()["conversations"]] == [1]
    etag = first.value.header_value("etag")
    assert etag
    expect(count).to_have_text("1")
    expect(count).to_be_visible()
    expect(launcher).to_have_attribute("aria-label", "Open support chat, 1 unread reply")
    screenshot(page, "widget-badge-closed")

    with page.expect_response(_is_list) as unchanged:
        page.clock.run_for(30_000)
    assert unchanged.value.request.header_value("if-none-match") == etag
    assert unchanged.value.status == 304  # nothing changed: no body, the badge stays
    expect(count).to_have_text("1")

    launcher.click()
    dialog = page.get_by_role("dialog", name="Support chat")
    conversation = dialog.locator("button.conv")
    expect(conversation).to_contain_text("1 new")
    screenshot(page, "widget-badge-list")
    with page.expect_response(_is_read) as read:
        conversation.click()
    assert read.value.status == 204
    assert read.value.request.post_data_json == {"lastMessageId": reply_id}
    expect(dialog).to_contain_text("Under Billing, top right.")
    expect(count).to_be_hidden()
    assert _read_mark(app) == reply_id

    page.keyboard.press("Escape")
    expect(launcher).to_have_attribute("aria-label", "Open support chat")
    expect(count).to_be_hidden()
    screenshot(page, "widget-badge-cleared")

    with page.expect_response(_is_list) as after_reload:
        page.reload()
    assert [c["unread"] for c in after_reload.value.json()["conversations"]] == [0]
    expect(page.get_by_role("button", name="Open support chat", exact=True)).to_be_visible()
    expect(count).to_be_hidden()
    assert page.console_errors == []


def test_replies_shown_in_the_open_thread_are_read_at_once(app, host_url, page, agent_replies):
    page.clock.install()
    page.goto(host_url)
    _start_conversation(page, "Can I export to CSV?")
    dialog = page.get_by_role("dialog", name="Support chat")

    with page.expect_response(_is_read) as read:
        seen_id = agent_replies("Yes: Reports, Export.")
        page.clock.run_for(4_000)  # the open thread's poll brings the reply, on screen
    assert read.value.status == 204
    assert read.value.request.post_data_json == {"lastMessageId": seen_id}
    expect(dialog).to_contain_text("Yes: Reports, Export.")
    assert _read_mark(app) == seen_id

    page.keyboard.press("Escape")
    agent_replies("Also as XLSX.")
    last_id = agent_replies("And by email, weekly.")
    with page.expect_response(_is_list) as polled:
        page.clock.run_for(30_000)
    assert [c["unread"] for c in polled.value.json()["conversations"]] == [2]
    expect(page.locator(".count")).to_have_text("2")
    expect(page.locator(".launcher")).to_have_attribute(
        "aria-label", "Open support chat, 2 unread replies"
    )

    with page.expect_response(_is_read) as read:
        page.locator(".launcher").click()  # the panel opens on the thread it was closed on
    assert read.value.request.post_data_json == {"lastMessageId": last_id}
    expect(dialog).to_contain_text("And by email, weekly.")
    expect(page.locator(".count")).to_be_hidden()
    assert _read_mark(app) == last_id


def test_closed_poll_needs_a_session_and_a_visible_page(host_url, page):
    page.clock.install()
    asked: list[str] = []
    page.on(
        "request",
        lambda r: (
            asked.append(r.headers.get("if-none-match", ""))
            if r.method == "GET" and r.url.endswith("/conversations")
            else None
        ),
    )
    page.goto(host_url)
    expect(page.locator(".launcher")).to_be_visible()
    page.clock.run_for(61_000)
    page.wait_for_timeout(300)
    assert asked == []  # no session yet: nothing to poll, and none is started for it

    with page.expect_response(_is_list) as first:
        page.evaluate("promptify.setUser({id: 'user-9', name: 'Kim'})")
    assert first.value.status == 200 and first.value.json() == {"conversations": []}

    page.evaluate(SET_VISIBILITY, True)
    page.clock.run_for(120_000)
    page.wait_for_timeout(300)
    assert len(asked) == 1  # hidden: no polls at all

    with page.expect_response(_is_list) as back:
        page.evaluate(SET_VISIBILITY, False)  # visible again: polled at once, no timer needed
    assert back.value.status == 304
    assert asked[-1] == first.value.header_value("etag")
    with page.expect_response(_is_list) as next_poll:
        page.clock.run_for(30_000)
    assert next_poll.value.status == 304
    assert page.console_errors == []
