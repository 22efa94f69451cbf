"""Settings › Messenger › Security in a real browser: keys, refusal, rotation countdown,
token tester and the require-signed switch, with a screenshot of each state."""

from __future__ import annotations

from playwright.sync_api import expect

from promptify import clock as app_clock
from promptify.services import operators
from tests.browser.conftest import screenshot, sign_in
from tests.factories import (
    identify,
    make_private_key,
    make_workspace,
    private_pem,
    public_pem,
    sign,
)

EMAIL, PASSWORD = "admin@example.com", "a long password"
EXPECTED = (
    "/favicon.ico",
    "/settings/messenger/security/keys",
)  # no favicon; the refused paste is a 422


def test_admin_manages_keys_tests_a_token_and_requires_signatures(app, page, live_url, clock):
    app_id = make_workspace(app)
    with app.app_context():
        operators.create_operator(EMAIL, "Ada Admin", "admin", PASSWORD, now=app_clock.now())
    widget = app.test_client()
    identify(widget, app_id, {"id": "legacy-user"})  # one unsigned identification this week
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} {m.location['url']}")
            if m.type == "error" and not m.location["url"].endswith(EXPECTED)
            else None
        ),
    )
    sign_in(page, live_url, EMAIL, PASSWORD)
    page.goto(f"{live_url}/settings/messenger/security")
    expect(page.get_by_role("heading", name="Messenger security")).to_be_visible()
    expect(page.locator("#key-list")).to_contain_text("No signing key yet")
    expect(page.locator("#require-jwt")).to_contain_text(
        "1 user identified without a signature in the last 7 days would be refused."
    )
    screenshot(page, "security-empty")

    pem_box = page.get_by_label("Public key (SPKI PEM)")
    ed = make_private_key("Ed25519")
    pem_box.fill(public_pem(ed))
    page.get_by_role("button", name="Add key").click()
    expect(page.locator("#key-form")).to_contain_text("is now current")
    expect(page.locator("#key-list")).to_contain_text("Ed25519")
    expect(page.locator("#key-list .key-current")).to_have_count(1)
    expect(page.get_by_label("Public key (SPKI PEM)")).to_have_value("")
    screenshot(page, "security-ed25519-current")

    private = private_pem(make_private_key("Ed25519"))
    page.get_by_label("Public key (SPKI PEM)").fill(private)
    page.get_by_role("button", name="Add key").click()
    expect(page.locator("#pem-error")).to_contain_text("Never paste a private key")
    expect(page.get_by_label("Public key (SPKI PEM)")).to_have_value("")
    assert private.splitlines()[1] not in page.content()
    screenshot(page, "security-private-key-refused")

    p256 = make_private_key("P-256")
    page.get_by_label("Public key (SPKI PEM)").fill(public_pem(p256))
    page.get_by_role("button", name="Add key").click()
    expect(page.locator("#key-form")).to_contain_text("The previous key keeps working until")
    expect(page.locator("#key-list .key-retiring")).to_contain_text("2 h left")
    clock.advance(minutes=48)
    page.reload()
    retiring = page.locator("#key-list .key-retiring")
    expect(retiring).to_contain_text("Retiring")
    expect(retiring).to_contain_text("1 h 12 min left")
    expect(page.locator("#key-list .key-current")).to_contain_text("P-256")
    screenshot(page, "security-rotated-countdown")

    retiring.get_by_text("Revoke now…").click()
    expect(
        retiring.get_by_label("I understand tokens signed with this key stop working now")
    ).to_be_visible()
    screenshot(page, "security-revoke-confirmation", full_page=False)
    revokes: list[str] = []
    page.on(
        "request",
        lambda request: (
            revokes.append(request.url) if request.url.endswith("/keys/revoke") else None
        ),
    )
    retiring.get_by_label("I understand tokens signed with this key stop working now").check()
    page.once("dialog", lambda dialog: dialog.dismiss())  # "Cancel" in the confirmation prompt
    retiring.get_by_role("button", name="Revoke now").click()
    page.wait_for_timeout(300)
    assert revokes == []
    expect(retiring).to_contain_text("1 h 12 min left")
    page.once("dialog", lambda dialog: dialog.accept())
    retiring.get_by_role("button", name="Revoke now").click()
    expect(page.locator("#key-list")).to_contain_text("is revoked")
    expect(page.locator("#key-list .key-revoked")).to_contain_text("Ed25519")
    expect(page.locator("#key-list .key-current")).to_contain_text("P-256")
    assert len(revokes) == 1
    screenshot(page, "security-revoked")

    now = int(clock.current.timestamp())
    good = sign(p256, {"id": "u1", "exp": now + 300, "jti": "browser-1"}, alg="ES256")
    page.get_by_label("JWT to test").fill(good)
    page.get_by_role("button", name="Test token").click()
    expect(page.locator("#token-tester")).to_contain_text("This token would be accepted.")
    expect(page.locator("#token-tester")).to_contain_text("testing does not consume it")
    screenshot(page, "security-tester-accepted")
    assert identify(widget, app_id, {"jwt": good}).status_code == 200  # the jti was not used up

    expired = sign(p256, {"id": "u1", "exp": now - 600}, alg="ES256")
    page.get_by_label("JWT to test").fill(expired)
    page.get_by_role("button", name="Test token").click()
    expect(page.locator("#token-tester")).to_contain_text("This token would be refused")
    expect(page.locator("#token-tester")).to_contain_text("jwt_expired")
    screenshot(page, "security-tester-refused")

    page.get_by_role("button", name="Turn on").click()
    require = page.locator("#require-jwt")
    expect(require).to_contain_text("Signed identification is now required")
    expect(require.locator(".badge-on")).to_have_text("On")
    screenshot(page, "security-require-jwt-on")
    assert identify(widget, app_id, {"id": "legacy-user"}).json["error"]["code"] == "jwt_required"

    page.get_by_role("button", name="Turn off").click()
    expect(require).to_contain_text("no longer required")
    expect(require.locator(".badge-off")).to_have_text("Off")

    forged = sign(make_private_key("P-256"), {"id": "mallory", "exp": now + 300}, alg="ES256")
    assert (
        identify(widget, app_id, {"jwt": forged}, Origin="https://shop.example").status_code == 401
    )
    page.reload()
    failures = page.locator("#failures")
    expect(failures).to_contain_text("jwt_bad_signature")
    expect(failures).to_contain_text("jwt_required")
    failures.get_by_text("Show").first.click()
    screenshot(page, "security-failures")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator("#failures").get_by_text("Show").first.click()
    # phones: stacked rows, no sideways scrolling (polled: the layout settles after the reload)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.table-wrap')).every((w) => w.scrollWidth <= w.clientWidth + 1)"
    )
    screenshot(page, "security-phone")
    assert problems == []  # no CSP violations, no script errors, no missing files
