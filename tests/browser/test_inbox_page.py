"""The inbox as an agent sees it: list, thread and details side panel, swapped in with htmx."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.factories import (
    add_key,
    identify,
    make_conversation,
    make_private_key,
    make_workspace,
    sign,
)


def test_agent_opens_a_conversation_and_sees_the_verified_user(app, client, live_url, page, login):
    app_id = make_workspace(app)
    key = make_private_key("Ed25519")
    add_key(app, app_id, key)
    claims = {
        "id": "user-123",
        "exp": int(time.time()) + 300,
        "name": "Jane Doe",
        "email": "jane@example.com",
        "attrs": {"plan": "pro", "active": True, "seats": 12},
        "organizations": [{"id": "org-456", "name": "Acme Corp", "attrs": {"industry": "SaaS"}}],
    }
    assert identify(client, app_id, {"jwt": sign(key, claims)}).status_code == 200
    cid = make_conversation(
        app,
        app_id,
        external_id="user-123",
        verified=True,
        messages=("Hi! I can't find the export button.", "It used to be under Reports."),
    )
    make_conversation(
        app,
        app_id,
        external_id="visitor-9",
        name="Unsigned Ursula",
        messages=("Pricing question",),
        at_offset_seconds=-120,
    )
    email = login("agent", email="agent@example.com")
    sign_in(page, live_url, email, "a long password")
    expect(page.locator("#conversation-list")).to_contain_text("Jane Doe")
    page.get_by_role("link", name="Jane Doe").click()
    expect(page).to_have_url(f"{live_url}/inbox/{cid}")  # hx-push-url keeps the URL in sync
    panel = page.locator("#details-panel")
    expect(panel).to_contain_text("Verified")
    expect(panel).to_contain_text("Acme Corp")
    expect(panel).to_contain_text("industry")
    expect(page.locator("#messages")).to_contain_text("verified session")
    screenshot(page, "inbox-verified-panel")
    page.locator("#reply-body").fill("Reports › Export, top right. I've sent you a screenshot.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#messages")).to_contain_text("Reports › Export")
    page.keyboard.press("j")
    expect(page.locator("#details-panel")).to_contain_text("Unverified")
    expect(page.locator("#details-panel")).to_contain_text("not proven")
    screenshot(page, "inbox-unverified-panel")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "inbox-phone")
