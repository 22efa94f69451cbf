"""Two-factor sign-in and the sessions list as operators use them in Chromium: setting it up from
the page's QR code and secret, signing in with a code and then with a recovery code, seeing and
ending sessions, and an admin requiring it for everyone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import expect

from promptify import clock as app_clock
from promptify.services import operators
from tests.browser.conftest import screenshot, sign_in
from tests.factories import make_workspace

PASSWORD = "a long password"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def _make(app, email: str, role: str = "agent") -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        operators.create_operator(email, "Kim", role, PASSWORD, now=app_clock.now())
    return email


@pytest.fixture
def second_page(browser) -> Iterator:  # type: ignore[no-untyped-def]
    """Another browser (a phone), collecting its console errors."""
    context = browser.new_context(viewport={"width": 390, "height": 800}, user_agent=PHONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.console_errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def _password(page, base_url: str, email: str, *, remember: bool = False) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    if remember:
        page.get_by_label("Keep me signed in").check()
    page.get_by_role("button", name="Sign in").click()


def _sign_out(page) -> None:  # type: ignore[no-untyped-def]
    page.locator(".topbar").get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Promptify")).to_be_visible()


def _set_up(page, clock, shot: str | None = None) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """From the two-factor page: start, read the secret, enter the code computed from it. The
    secret and the recovery codes shown."""
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    qr = page.get_by_role("img", name=re.compile("QR code for adding Promptify"))
    expect(qr).to_be_visible()
    # the data: URL rendered under the console's CSP
    assert page.evaluate("document.querySelector('.two-factor-qr').naturalWidth") > 0
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    if shot:
        screenshot(page, shot)
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock()))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    codes = page.locator(".recovery-code-list code").all_inner_texts()
    assert len(codes) == 10
    return secret, codes


def test_operator_sets_up_two_factor_and_signs_in_with_a_code_then_a_recovery_code(
    app, live_url, page, second_page, clock
):
    make_workspace(app)
    email = _make(app, "kim@example.com")
    with app.app_context():
        operator = operators.find_by_email(email)
        assert operator is not None
        operators.update_profile(operator, time_zone="Europe/Berlin")
    sign_in(second_page, live_url, email, PASSWORD)  # a phone, signed in before
    second_page.goto("about:blank")  # (no console tab left polling there)
    sign_in(page, live_url, email, PASSWORD)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Profile").click()
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in", exact=True)).to_be_visible()
    secret, codes = _set_up(page, clock, shot="two-factor-enrolment")

    # setting it up signed the phone out
    second_page.goto(f"{live_url}/inbox")
    expect(second_page.get_by_role("heading", name="Sign in to Promptify")).to_be_visible()

    page.get_by_role("link", name="I saved them: go to the inbox").click()
    page.goto(f"{live_url}/profile")
    page.get_by_role("link", name="See and end sessions").click()
    rows = page.locator("table.sessions tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("this session")

    _sign_out(page)
    clock.advance(seconds=30)  # the code used to set it up is spent
    _password(page, live_url, email)
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    page.get_by_label("Code").fill("000000" if pyotp.TOTP(secret).at(clock()) != "000000" else "1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#code-error")).to_have_text(
        "That code is wrong, expired or was used already."
    )
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock()))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_url}/inbox")

    # the phone signs in too (with the next code), then the list shows both
    clock.advance(seconds=30)
    _password(second_page, live_url, email, remember=True)
    second_page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock()))
    second_page.get_by_role("button", name="Sign in").click()
    second_page.wait_for_url(f"{live_url}/inbox")
    second_page.goto("about:blank")

    page.goto(f"{live_url}/profile/sessions")
    expect(rows).to_have_count(2)
    this = page.locator("tr.this-session")
    expect(this).to_contain_text("this session")
    phone_row = page.locator("table.sessions tbody tr", has_text="Safari on iOS")
    expect(phone_row).to_contain_text("127.0.0.1")
    expect(phone_row).to_contain_text("Kept signed in until")
    expect(this).to_contain_text("When the browser closes, or after 14 days unused")
    expect(phone_row.locator("time").first).to_have_attribute("title", re.compile(r" UTC$"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "sessions-list")

    # ending the phone's session from the list signs the phone out
    phone_row.get_by_role("button", name=re.compile("^Sign out")).click()
    expect(page.locator(".flash")).to_have_text("Signed out: that browser has to sign in again.")
    expect(rows).to_have_count(1)
    second_page.goto(f"{live_url}/inbox")
    expect(second_page.get_by_role("heading", name="Sign in to Promptify")).to_be_visible()

    # a recovery code instead of the app, once
    _sign_out(page)
    _password(page, live_url, email)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_url}/inbox")
    expect(page.locator(".flash")).to_contain_text("You signed in with a recovery code")
    expect(page.locator(".flash")).to_contain_text("9 of them are left")
    _sign_out(page)
    _password(page, live_url, email)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#code-error")).to_be_visible()

    # nothing but the refused codes' 401 pages (no CSP violation, no script error)
    assert _errors(page) == [] and _errors(second_page) == []


def _errors(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [e for e in page.console_errors if "status of 401" not in e]


def test_an_admin_requires_two_factor_and_an_operator_without_it_is_sent_to_set_it_up(
    app, live_url, page, second_page, clock
):
    make_workspace(app)
    admin = _make(app, "admin@example.com", "admin")
    agent = _make(app, "agent@example.com")
    sign_in(page, live_url, admin, PASSWORD)
    page.goto(f"{live_url}/profile/two-factor")
    _set_up(page, clock)

    page.goto(f"{live_url}/settings/team")
    rule = page.locator("#two-factor-rule")
    expect(rule).to_contain_text("1 active operator has not set it up")
    rule.get_by_label("Require two-factor sign-in for everyone").check()
    rule.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("Two-factor sign-in is required")
    expect(page.get_by_label("Require two-factor sign-in for everyone")).to_be_checked()
    expect(page.locator("#operator-list tr", has_text=admin)).to_contain_text("2FA")

    _password(second_page, live_url, agent)
    second_page.wait_for_url(f"{live_url}/profile/two-factor")
    expect(second_page.locator("#two-factor-required")).to_contain_text(
        "An admin requires two-factor sign-in for everyone."
    )
    expect(second_page.get_by_role("navigation", name="Main")).to_have_count(0)
    second_page.goto(f"{live_url}/inbox")
    second_page.wait_for_url(f"{live_url}/profile/two-factor")  # nothing else opens
    expect(second_page.locator(".flash").first).to_contain_text("set it up to continue")
    clock.advance(seconds=30)
    _set_up(second_page, clock)
    second_page.get_by_role("link", name="I saved them: go to the inbox").click()
    second_page.wait_for_url(f"{live_url}/inbox")

    assert page.console_errors == [] and second_page.console_errors == []
