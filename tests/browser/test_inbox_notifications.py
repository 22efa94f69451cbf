"""Attention and teamwork in a real browser: unread rows and the count in the tab title, the
desktop notifications banner and the notifications themselves, Ctrl/Cmd+Enter, private notes
and events in the thread.

Headless Chromium reports every tab as visible, whatever is in front (bringing another page to
the front or minimising the window changes nothing), so the console page is made "hidden" by an
init script that overrides `document.visibilityState` and fires `visibilitychange`, as a browser
does when the tab goes to the background. Another init script wraps the real `Notification`
constructor to record what the console shows, and `Notification.requestPermission` to record
whether it was called inside a click (`navigator.userActivation.isActive`)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from promptify import clock as app_clock
from promptify.services import operators
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import csrf_token_from
from tests.factories import identify, make_workspace

PASSWORD = "a long password"
ATTENTION_TIMEOUT = 25_000  # the console polls /inbox/attention every 10 s

RECORD_NOTIFICATIONS = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get() { return hidden ? "hidden" : "visible"; } });
  Object.defineProperty(Document.prototype, "hidden", {
    configurable: true, get() { return hidden; } });
  window.__setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  const Real = window.Notification;
  window.__notifications = [];
  window.__permissionRequests = [];
  function Recorded(title, options) {
    const shown = new Real(title, options);
    window.__notifications.push({ title: title, body: options && options.body, shown: shown });
    return shown;
  }
  Recorded.prototype = Real.prototype;
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = function () {
    window.__permissionRequests.push(navigator.userActivation.isActive);
    return Real.requestPermission.apply(Real, arguments);
  };
  window.Notification = Recorded;
})();
"""


class Visitor:
    def __init__(self, client, app_id: str, external_id: str, name: str) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.app_id = app_id
        response = identify(client, app_id, {"id": external_id, "name": name})
        assert response.status_code == 200, response.json
        self.headers = {"X-Promptify-Session": response.json["session"]}

    def start(self, body: str) -> int:
        response = self.client.post(
            f"/widget/v1/apps/{self.app_id}/conversations",
            json={"body": body},
            headers=self.headers,
        )
        assert response.status_code == 201, response.json
        return int(response.json["conversation"]["id"])

    def write(self, conversation_id: int, body: str) -> None:
        response = self.client.post(
            f"/widget/v1/apps/{self.app_id}/conversations/{conversation_id}/messages",
            json={"body": body},
            headers=self.headers,
        )
        assert response.status_code == 201, response.json


def make_operator(app, email: str, name: str) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        operators.create_operator(email, name, "agent", PASSWORD, now=app_clock.now())
    return email


@pytest.fixture
def real_time(app):  # type: ignore[no-untyped-def]
    app.config["CLOCK"] = None  # the thread orders entries by time: let it pass


def wait_for_notifications(page, more_than: int) -> None:  # type: ignore[no-untyped-def]
    """Until the console has shown more than `more_than` notifications (polled from here:
    `page.wait_for_function` evaluates strings, which the console's CSP rightly refuses)."""
    for _ in range(ATTENTION_TIMEOUT // 250):
        if page.evaluate("window.__notifications.length") > more_than:
            return
        page.wait_for_timeout(250)
    raise AssertionError("no desktop notification was shown")


def _csp_errors(messages: list[str]) -> list[str]:
    return [m for m in messages if re.search("Content Security Policy|Refused", m)]


def test_desktop_notification_for_a_hidden_tab_opens_the_conversation(
    app, client, browser, live_url, real_time
):
    app_id = make_workspace(app)
    vera = Visitor(client, app_id, "vera", "Vera Visitor")
    first = vera.start("Is there an API for invoices?")
    email = make_operator(app, "notified@example.com", "Nia")
    context = browser.new_context(
        viewport={"width": 1280, "height": 860}, permissions=["notifications"]
    )
    context.add_init_script(RECORD_NOTIFICATIONS)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_url, email, PASSWORD)

    enable = page.get_by_role("button", name="Enable desktop notifications")
    expect(enable).to_be_visible()
    expect(page).to_have_title("(1) Inbox · Promptify")
    assert page.evaluate("window.__permissionRequests") == []  # never asked before the click
    enable.click()
    expect(enable).to_be_hidden()
    assert page.evaluate("window.__permissionRequests") == [True]  # once, inside the click
    assert page.evaluate("localStorage.getItem('promptify.notifications')") == "on"
    with page.expect_response(lambda r: "/inbox/attention" in r.url):
        page.reload()  # the choice is remembered; the first poll takes the cursor
    expect(enable).to_be_hidden()

    # while the tab is visible, a new visitor message shows no notification
    with page.expect_response(
        lambda r: "/inbox/attention?after=" in r.url, timeout=ATTENTION_TIMEOUT
    ):
        vera.write(first, "Still there?")
    assert page.evaluate("window.__notifications.length") == 0

    page.evaluate("window.__setHidden(true)")
    nora = Visitor(client, app_id, "nora", "Nora New")
    second = nora.start("Hello! Can I pay by bank transfer?")
    wait_for_notifications(page, 0)
    shown = page.evaluate("window.__notifications.map(n => [n.title, n.body])")
    assert shown == [["New conversation from Nora New", "Hello! Can I pay by bank transfer?"]]
    expect(page).to_have_title("(2) Inbox · Promptify")
    expect(page.locator("#nav-unread")).to_contain_text("2")

    page.evaluate("window.__notifications[0].shown.dispatchEvent(new Event('click'))")
    expect(page).to_have_url(f"{live_url}/inbox/{second}")
    expect(page.locator("#messages")).to_contain_text("pay by bank transfer")
    expect(page).to_have_title("(1) Inbox · Promptify")  # opening it read it

    # a new message in a known conversation, while hidden again
    page.evaluate("window.__setHidden(true)")
    with page.expect_response(
        lambda r: "/inbox/attention?after=" in r.url, timeout=ATTENTION_TIMEOUT
    ):
        pass  # a poll after hiding: the cursor is current
    before = page.evaluate("window.__notifications.length")
    vera.write(first, "Found it, thanks")
    wait_for_notifications(page, before)
    shown = page.evaluate("window.__notifications.map(n => [n.title, n.body])")
    assert shown[-1] == ["New message from Vera Visitor", "Found it, thanks"]
    assert _csp_errors(errors) == [], errors
    context.close()


def test_unread_rows_stand_out_and_opening_one_reads_it(app, client, page, live_url, real_time):
    app_id = make_workspace(app)
    ids = {}
    for external_id, name, body in [
        ("u1", "Uma Unread", "My invoice shows the wrong VAT number."),
        ("u2", "Rex Read", "How do I export my data?"),
        ("u3", "Ola Open", "Can I add a second admin?"),
    ]:
        ids[name] = Visitor(client, app_id, external_id, name).start(body)
    email = make_operator(app, "rows@example.com", "Rowan")
    sign_in(page, live_url, email, PASSWORD)
    expect(page).to_have_title("(3) Inbox · Promptify")
    expect(page.locator("a.conversation-item.is-unread")).to_have_count(3)

    rex = page.locator(f'a.conversation-item[href="/inbox/{ids["Rex Read"]}"]')
    rex.click()
    expect(page.locator("#messages")).to_contain_text("export my data")
    page.locator("#reply-body").fill("Settings › Export, then Download.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#messages")).to_contain_text("Settings › Export")
    expect(rex).not_to_have_class(re.compile(r"\bis-unread\b"))
    expect(rex.locator(".preview")).to_contain_text("You: Settings › Export")
    expect(page).to_have_title("(2) Inbox · Promptify")
    expect(page.locator("#nav-unread")).to_contain_text("2")
    uma = page.locator(f'a.conversation-item[href="/inbox/{ids["Uma Unread"]}"]')
    expect(uma).to_have_class(re.compile(r"\bis-unread\b"))
    expect(uma).to_contain_text("Unread:")  # for screen readers
    screenshot(page, "inbox-unread-rows")

    uma.click()
    expect(page.locator("#messages")).to_contain_text("wrong VAT number")
    expect(uma).not_to_have_class(re.compile(r"\bis-unread\b"))  # the list was refreshed…
    expect(uma).to_have_attribute("aria-current", "true")  # …for the URL just pushed
    expect(rex).to_have_attribute("aria-current", "false")
    expect(page).to_have_title("(1) Inbox · Promptify")
    assert _csp_errors(page.console_errors) == [], page.console_errors


def test_notes_events_and_ctrl_enter_in_the_thread(app, client, page, live_url, real_time):
    app_id = make_workspace(app)
    cid = Visitor(client, app_id, "jo", "Jo Customer").start("SSO login fails with Okta.")
    make_operator(app, "ben@example.com", "Ben Backup")
    email = make_operator(app, "ann@example.com", "Ann Agent")
    sign_in(page, live_url, email, PASSWORD)
    page.goto(f"{live_url}/inbox/{cid}")

    page.locator("#reply-body").fill("Which Okta app did you configure?")
    page.locator("#reply-body").press("Control+Enter")
    expect(page.locator("#messages")).to_contain_text("Which Okta app")
    expect(page.locator("#reply-body")).to_have_value("")

    # a draft reply survives a note posted meanwhile
    page.locator("#reply-body").fill("Draft: please send a screenshot")
    page.locator("#note-body").fill("Customer is on the legacy SSO plan — check with Ben.")
    page.locator("#note-body").press("Meta+Enter")
    note = page.locator("li.activity-note")
    expect(note).to_contain_text("Private note")
    expect(note).to_contain_text("legacy SSO plan")
    expect(page.locator("#note-body")).to_have_value("")
    expect(page.locator("#reply-body")).to_have_value("Draft: please send a screenshot")

    page.get_by_label("Assignee").select_option(label="Ben Backup")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("Ann Agent assigned this to Ben Backup")
    page.get_by_role("button", name="Close", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("Closed by Ann Agent")
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    expect(page.locator("#reply-body")).to_have_value("Draft: please send a screenshot")
    events = page.locator("li.activity-event")
    expect(events).to_have_count(2)
    expect(events.first).to_have_text(re.compile(r"assigned this to .* · \d\d:\d\d"))
    screenshot(page, "thread-note-and-events")

    # Ben reopens it from his own console: Ann's open thread shows it without a reload
    ben = app.test_client()
    token = csrf_token_from(ben.get("/login").get_data(as_text=True))
    ben.post("/login", data={"email": "ben@example.com", "password": PASSWORD, "csrf_token": token})
    token = csrf_token_from(ben.get("/inbox").get_data(as_text=True))
    reopened = ben.post(f"/inbox/{cid}/status", data={"status": "open", "csrf_token": token})
    assert reopened.status_code == 303
    expect(page.locator("#messages")).to_contain_text("Reopened by Ben Backup")
    expect(page.get_by_role("button", name="Close", exact=True)).to_be_visible()
    expect(page.locator("#thread-header")).to_contain_text("Open · assigned to Ben Backup")
    expect(page.locator("#reply-body")).to_have_value("Draft: please send a screenshot")
    assert _csp_errors(page.console_errors) == [], page.console_errors
