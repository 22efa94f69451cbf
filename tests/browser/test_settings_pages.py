"""Settings › Messenger › Installation and Settings › Team as an admin uses them in Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.factories import add_key, make_private_key, make_workspace


def test_admin_installs_the_messenger_and_manages_the_team(app, live_url, page, login):
    app_id = make_workspace(app)
    add_key(app, app_id, make_private_key("Ed25519"))
    email = login("admin", email="admin@example.com")
    sign_in(page, live_url, email, "a long password")

    page.goto(f"{live_url}/settings/messenger/installation")
    expect(page.locator('[data-example="snippet"]')).to_contain_text(f'data-app-id="{app_id}"')
    expect(page.locator('[data-example="node"]')).to_contain_text('alg: "EdDSA"')
    expect(page.locator('[data-example="python"]')).to_contain_text('algorithms=["Ed25519"]')
    origins = page.locator("#allowed-origins")
    expect(origins).to_contain_text("Any origin may call the widget API.")

    # a bad line is named, in place (htmx swap, 422), and nothing is lost from the textarea
    page.get_by_label("Allowed origins (one per line)").fill(
        "HTTPS://App.Example.com/\nshop.example.com"
    )
    page.get_by_role("button", name="Save origins").click()
    expect(origins.locator(".error")).to_contain_text("Line 2: 'shop.example.com' is not an origin")
    expect(page.get_by_label("Allowed origins (one per line)")).to_have_value(
        "HTTPS://App.Example.com/\nshop.example.com"
    )
    page.get_by_label("Allowed origins (one per line)").fill(
        "HTTPS://App.Example.com/\nhttps://shop.example.com\n"
    )
    page.get_by_role("button", name="Save origins").click()
    expect(origins).to_contain_text("Saved 2 allowed origins.")
    expect(origins.locator(".origin-list")).to_contain_text("https://app.example.com")
    expect(origins).not_to_contain_text("Any origin may call")
    expect(page).to_have_url(f"{live_url}/settings/messenger/installation")
    screenshot(page, "installation")

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    copy = page.get_by_role("button", name="Copy snippet: snippet")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()").endswith(
        f'data-app-id="{app_id}"></script>'
    )

    page.get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    form = page.locator("#operator-form")
    form.get_by_label("Email").fill("admin@example.com")
    form.get_by_label("Initial password").fill("agent password")
    form.get_by_role("button", name="Add operator").click()
    expect(page.locator("#email-error")).to_have_text("An operator with this email already exists.")
    form = page.locator("#operator-form")
    form.get_by_label("Email").fill("jane@example.com")
    form.get_by_label("Name").fill("Jane Doe")
    form.get_by_label("Role").select_option("agent")
    form.get_by_label("Initial password").fill("agent password")
    form.get_by_role("button", name="Add operator").click()
    expect(page.locator("#operator-form")).to_contain_text("Added jane@example.com as agent.")
    row = page.locator("#operator-list tr", has_text="jane@example.com")
    expect(row).to_contain_text("Jane Doe")
    expect(row).to_contain_text("Active")

    # the last admin is protected, in place
    page.get_by_label("Role of admin@example.com").select_option("agent")
    page.locator("#operator-list tr", has_text="admin@example.com").get_by_role(
        "button", name="Change"
    ).click()
    expect(page.locator("#operator-list .notice-danger")).to_have_text(
        "The last admin cannot stop being an admin."
    )

    # deactivation asks first; dismissing changes nothing
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Deactivate").click()
    expect(row).to_contain_text("Active")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Deactivate").click()
    expect(page.locator(".flash")).to_contain_text("jane@example.com is deactivated")
    expect(page.locator("#operator-list tr", has_text="jane@example.com")).to_contain_text(
        "Deactivated"
    )
    expect(page.locator("#operator-list tr.inactive")).to_have_count(1)
    screenshot(page, "team")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "team-phone")
    assert not [
        e for e in page.console_errors if re.search("Content Security Policy|Refused", e)
    ], page.console_errors
