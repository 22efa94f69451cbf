"""What an agent and an admin see of the trust lifecycle (docs/security.md), in Chromium."""

from __future__ import annotations

from playwright.sync_api import expect

from promptify import clock as app_clock
from promptify.services import operators
from tests.browser.conftest import screenshot, sign_in
from tests.factories import add_key, identify, make_private_key, make_workspace, sign

PASSWORD = "a long password"


def _signed(client, app_id, key, clock, user, **claims):  # type: ignore[no-untyped-def]
    token = sign(key, {"id": user, "exp": int(clock.current.timestamp()) + 300, **claims})
    return identify(client, app_id, {"jwt": token})


def test_the_side_panel_shows_claims_refusals_and_key_provenance(
    app, client, clock, page, live_url
):
    app_id = make_workspace(app)
    key = make_private_key("Ed25519")
    thumbprint = add_key(app, app_id, key)
    _signed(
        client,
        app_id,
        key,
        clock,
        "user-123",
        email="Jane.Doe@example.com",
        name="Jane Doe",
        organizations=[{"id": "org-456", "name": "Acme Corp"}],
    )
    visitor = identify(client, app_id, {"id": None, "email": "jane.doe@example.com"}).json[
        "session"
    ]
    client.post(
        f"/widget/v1/apps/{app_id}/conversations",
        json={"body": "I am Jane, refund me"},
        headers={"X-Promptify-Session": visitor},
    )
    expired = sign(key, {"id": "user-123", "exp": int(clock.current.timestamp()) - 600})
    assert identify(client, app_id, {"jwt": expired}, session=visitor).status_code == 401
    signed = _signed(client, app_id, key, clock, "user-123").json["session"]
    client.post(
        f"/widget/v1/apps/{app_id}/conversations",
        json={"body": "Signed in now"},
        headers={"X-Promptify-Session": signed},
    )
    with app.app_context():
        operators.create_operator(
            "admin@example.com", "Admin", "admin", PASSWORD, now=app_clock.now()
        )

    sign_in(page, live_url, "admin@example.com", PASSWORD)
    page.get_by_role("link", name="jane.doe@example.com").click()
    panel = page.locator("#details-panel")
    expect(panel).to_contain_text("claimed, not proven — belongs to verified user user-123")
    expect(panel).to_contain_text("Identification refused jwt_expired")
    expect(page.locator(".conversation-item", has_text="jane.doe@example.com")).to_contain_text(
        "claimed, not proven"
    )
    screenshot(page, "trust-panel-claim-and-refusal")

    page.get_by_role("link", name="Jane Doe").first.click()
    expect(page.locator("#thread")).to_contain_text(f"verified session · key {thumbprint[:8]}")
    expect(page.locator("#details-panel")).to_contain_text("✓ verified organization")
    screenshot(page, "trust-thread-provenance")

    page.goto(f"{live_url}/settings/messenger/security")
    expect(page.locator("#key-list")).to_contain_text("2 sessions verified in the last 24 h")
    expect(page.locator("#key-list")).to_contain_text("verified a token")
    screenshot(page, "trust-security-key-usage")
    assert page.console_errors == []
