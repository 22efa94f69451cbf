"""The whole flow across two origins, with the demo's host page playing the customer's app:
a visitor writes anonymously, the host identifies them with a server-signed JWT, an agent sees
the Verified contact with attrs and organizations, replies, and the widget shows the reply; a user
switch shows none of the first user's conversations, and reset() gives a fresh anonymous visitor."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from promptify.demo.host import create_host_app
from tests.browser.conftest import LiveServer, screenshot, sign_in
from tests.factories import add_key, make_private_key, make_workspace, private_pem


@pytest.fixture
def host_url(app, live_url, tmp_path: Path):
    app_id = make_workspace(app)
    key = make_private_key("Ed25519")
    add_key(app, app_id, key)
    key_file = tmp_path / "demo-private.pem"
    key_file.write_text(private_pem(key))
    host = create_host_app(app_id=app_id, widget_base=live_url, private_key_path=key_file)
    with LiveServer(host) as server:
        yield server.url.replace("127.0.0.1", "localhost")  # another origin than the console's


def test_visitor_agent_and_user_switch_across_origins(
    app, browser, page, live_url, host_url, login, clock
):
    app.config["CLOCK"] = None  # the host signs tokens with the real time
    page.goto(host_url)
    page.get_by_role("button", name="Open support chat").click()
    dialog = page.get_by_role("dialog", name="Support chat")
    page.get_by_role("button", name="Start a new conversation").click()
    page.get_by_label("Message", exact=True).fill("Hello, I was looking at pricing.")
    page.get_by_role("button", name="Send message").click()
    expect(dialog).to_contain_text("looking at pricing")

    page.get_by_role("button", name="Identify with a signed JWT (Jane, verified)").click()
    expect(page.locator("#result")).to_contain_text('"verified": true')
    expect(dialog).to_contain_text("looking at pricing")  # the anonymous conversation followed her
    dialog.locator("li", has_text="looking at pricing").click()
    page.get_by_label("Message", exact=True).fill("Also: can I get invoices by email?")
    page.get_by_role("button", name="Send message").click()
    expect(dialog).to_contain_text("invoices by email")
    screenshot(page, "e2e-host-identified")

    email = login("agent", email="agent-e2e@example.com")
    agent = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    sign_in(agent, live_url, email, "a long password")
    agent.get_by_role("link", name="Jane Doe").click()
    panel = agent.locator("#details-panel")
    for text in [
        "Verified",
        "jane@example.com",
        "user-123",
        "plan",
        "pro",
        "Acme Corp",
        "industry",
        "SaaS",
    ]:
        expect(panel).to_contain_text(text)
    messages = agent.locator("#messages")
    expect(messages.locator("li", has_text="looking at pricing")).to_contain_text(
        "not verified"
    )  # sent anonymously
    expect(messages.locator("li", has_text="invoices by email")).to_contain_text("verified session")
    agent.locator("#reply-body").fill("Hi Jane! Pro is 29 € per seat.")
    agent.get_by_role("button", name="Send reply").click()
    expect(agent.locator("#messages")).to_contain_text("29 € per seat")
    screenshot(agent, "e2e-agent-panel")

    expect(dialog).to_contain_text("29 € per seat", timeout=12_000)  # the widget polls for replies

    page.get_by_role("button", name="Switch user (signed JWT, Max)").click()
    expect(page.locator("#result")).to_contain_text("user-456")
    expect(dialog).not_to_contain_text("pricing")
    expect(dialog).not_to_contain_text("29 €")
    screenshot(page, "e2e-switched-user")

    page.get_by_role("button", name="Reset promptify.reset()").click()
    expect(page.locator("#result")).to_contain_text('"anonymous": true')
    expect(dialog).not_to_contain_text("pricing")
    agent.context.close()
