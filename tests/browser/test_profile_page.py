"""The profile page as an operator uses it in Chromium: the browser's time zone proposed with one
click, saved, and console times shown in it with the UTC time on hover."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.factories import identify, make_workspace

PASSWORD = "a long password"


@pytest.fixture
def berlin_page(browser) -> Iterator:  # type: ignore[no-untyped-def]
    """A browser whose time zone is Europe/Berlin, collecting its console errors."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 860}, timezone_id="Europe/Berlin"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.console_errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def test_operator_takes_the_browsers_time_zone_and_sees_times_in_it(
    app, client, live_url, berlin_page, login, clock
):
    page = berlin_page
    clock.current = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)  # 13:00 in Berlin (CET)
    app_id = make_workspace(app)
    identify(client, app_id, {"id": "visitor-1", "name": "Wanda"})  # last seen: now
    email = login("agent")
    sign_in(page, live_url, email, PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="Profile", exact=True)).to_be_visible()
    field = page.get_by_label("Time zone")
    expect(field).to_have_value("UTC")
    expect(page.locator(".profile-now time")).to_have_text("2025-01-15 12:00 UTC")

    # an unknown name is refused in place (htmx swap, 422), with what was typed kept
    field.fill("Mars/Olympus_Mons")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.locator("#time_zone-error")).to_contain_text("Unknown time zone")
    expect(page.get_by_label("Time zone")).to_have_value("Mars/Olympus_Mons")

    # the swapped-in section still offers the browser's zone
    page.get_by_role("button", name="Use my browser's time zone").click()
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    expect(page.locator("[data-browser-time-zone-note]")).to_have_text(
        "Your browser is set to Europe/Berlin."
    )
    page.get_by_role("button", name="Save time zone").click()
    expect(page.locator(".flash")).to_have_text("Saved: the console shows times in Europe/Berlin.")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    now = page.locator(".profile-now time")
    expect(now).to_have_text("2025-01-15 13:00 CET")
    expect(now).to_have_attribute("title", "2025-01-15 12:00 UTC")
    expect(now).to_have_attribute("datetime", "2025-01-15T12:00:00Z")

    page.get_by_label("Display name").fill("Kim from Acme")
    page.get_by_role("button", name="Save name").click()
    expect(page.locator(".flash")).to_have_text(
        "Saved: visitors now see your replies as Kim from Acme."
    )
    expect(page.locator(".topbar .who")).to_contain_text("Kim from Acme")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "profile-page")

    page.get_by_role("link", name="Contacts").click()
    seen = page.locator("table time").first
    expect(seen).to_have_text("2025-01-15 13:00 CET")
    expect(seen).to_have_attribute("title", "2025-01-15 12:00 UTC")
    assert not [
        e for e in page.console_errors if re.search("Content Security Policy|Refused", e)
    ], page.console_errors


def test_without_a_zone_from_the_browser_the_button_stays_hidden(app, live_url, page, login):
    """Progressive enhancement: the button appears only where the script can fill the field."""
    make_workspace(app)
    email = login("agent")
    page.add_init_script(
        "Intl.DateTimeFormat = function () { return { resolvedOptions: function () { return {}; } }; };"
    )
    sign_in(page, live_url, email, PASSWORD)
    page.goto(f"{live_url}/profile")
    expect(page.get_by_label("Time zone")).to_have_value("UTC")
    expect(page.get_by_role("button", name="Use my browser's time zone")).to_be_hidden()
