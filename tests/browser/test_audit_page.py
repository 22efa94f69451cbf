"""Settings › Audit log in a real browser: the events of a few changes and sign-ins, a filter,
and the CSV download, with no CSP or script error on the way."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import expect

from promptify.extensions import db
from promptify.services import keys as keys_service
from promptify.services import operators, workspaces
from promptify.services.audit import Actor
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import csrf_token_from
from tests.factories import make_private_key, make_workspace, public_pem

EMAIL, PASSWORD = "admin@example.com", "a long password"


def test_admin_reads_filters_and_downloads_the_audit_log(app, page, live_url, clock):
    app_id = make_workspace(app)
    with app.app_context():
        admin = operators.create_operator(EMAIL, "Ada Admin", "admin", PASSWORD, now=clock())
        actor = Actor(admin.id, admin.email, "198.51.100.24")
        workspace = workspaces.find_workspace(app_id)
        assert workspace is not None
        clock.advance(minutes=3)
        keys_service.add_key(
            workspace, public_pem(make_private_key("Ed25519")), now=clock(), actor=actor
        )
        clock.advance(minutes=2)
        keys_service.add_key(
            workspace, public_pem(make_private_key("P-256")), now=clock(), actor=actor
        )
        clock.advance(minutes=1)
        workspaces.set_origins(
            workspace,
            ["https://app.example.com", "https://shop.example.com"],
            now=clock(),
            actor=actor,
        )
        clock.advance(minutes=4)
        agent = operators.create_operator(
            "bo@example.com", "Bo Agent", "agent", PASSWORD, now=clock(), actor=actor
        )
        clock.advance(minutes=1)
        operators.deactivate(agent, now=clock(), actor=Actor(None, "cli:root"))
        db.session.remove()
    clock.advance(minutes=5)
    stranger = app.test_client()
    token = csrf_token_from(stranger.get("/login").get_data(as_text=True))
    stranger.post(
        "/login", data={"email": EMAIL, "password": "not the password", "csrf_token": token}
    )

    clock.advance(minutes=1)
    sign_in(page, live_url, EMAIL, PASSWORD)
    page.goto(f"{live_url}/settings/team")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    rows = page.locator("#audit-events tbody tr")
    expect(rows).to_have_count(8)  # created ×2, key added, replaced, origins, disabled, 2 sign-ins
    expect(rows.first).to_contain_text("Signed in to the console")
    expect(page.locator("#audit-events")).to_contain_text(
        "Allowed origins: added https://app.example.com, https://shop.example.com"
    )
    expect(page.locator("#audit-events")).to_contain_text("Sign-in refused: wrong password")
    page.locator("#audit-events details summary").first.click()
    screenshot(page, "audit-log")

    page.get_by_label("Action").select_option("key.replaced")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("198.51.100.24")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    path = download_info.value.path()
    table = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [row[1] for row in table[1:]] == ["key.replaced"]
    assert table[1][2] == EMAIL and table[1][4] == "198.51.100.24"

    page.get_by_label("From").fill("2001-02-03")
    page.get_by_label("To (inclusive)").fill("2001-02-01")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#filter-to-error")).to_have_text("The last day is before the first day.")
    # the only console error is the browser noting that 400 (no CSP or script error)
    assert page.console_errors == [  # type: ignore[attr-defined]
        "Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"
    ]
