"""How the widget, on a customer's page served from ANOTHER origin, copes when the server stops
accepting its session or its requests.

- `promptify.setTokenProvider()` keeps a verified session verified without a reload: renewal
  shortly before `verifiedUntil`, and renewal plus one retry on `session_expired` after a key
  revocation. Without a provider, `session_expired` makes the visitor anonymous again and the
  console says why.
- A message racing the sign-in that merges its anonymous session (`session_required`) is retried
  once on the new session.
- A request that fails before any answer is explained: refused origin, or unreachable server.

Time moves on both sides by hand: the server's test clock and the browser's (Playwright's clock).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.wrappers import Request, Response

from promptify.blueprints.widget.schemas import iso
from promptify.extensions import db
from promptify.models import Contact, Conversation, Message, Workspace
from promptify.services import keys as keys_service
from tests.browser.conftest import LiveServer
from tests.conftest import Clock
from tests.factories import add_key, make_private_key, make_workspace, sign

VERIFIED_SECONDS = 3600  # the default PROMPTIFY_VERIFIED_SESSION_SECONDS

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme host page</title><link rel="icon" href="data:,">
<script>
window.promptify = window.promptify || (function (p) {{
  ["setUser", "reset", "open", "close", "setTokenProvider"].forEach(function (m) {{
    p[m] = function () {{
      var a = [].slice.call(arguments);
      return new Promise(function (resolve, reject) {{ p.q.push([m, a, resolve, reject]); }});
    }};
  }});
  return p;
}})({{ q: [] }});
// the host's server signs a token for its signed-in user
function freshToken() {{ return fetch("/token").then(function (r) {{ return r.text(); }}); }}
{provider}
window.signedIn = freshToken().then(function (jwt) {{ return promptify.setUser({{ jwt: jwt }}); }});
</script>
</head><body><h1>Acme App</h1>
<script src="{widget}/widget/v1/promptify.js" data-app-id="{app_id}" async></script>
</body></html>"""


class TokenHost:
    """The customer's app: its page, and the `/token` endpoint its server offers, signing with
    whichever key the test chooses, at the server's (test) time."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.key: Any = None
        self.app_id = ""
        self.widget = ""
        self.provider = True
        self.url = ""
        self.tokens_issued = 0

    @Request.application
    def wsgi(self, request: Request) -> Response:
        if request.path == "/token":
            self.tokens_issued += 1
            claims = {
                "id": "user-42",
                "name": "Ada",
                "aud": self.app_id,
                "exp": int(self.clock.current.timestamp()) + 300,
            }
            return Response(sign(self.key, claims), mimetype="text/plain")
        if request.path == "/":
            provider = "promptify.setTokenProvider(freshToken);" if self.provider else ""
            page = HOST_PAGE.format(
                provider=provider, widget=html.escape(self.widget), app_id=self.app_id
            )
            return Response(page, mimetype="text/html")
        return Response("not found", 404)


@pytest.fixture
def host(app, live_url, clock) -> Iterator[TokenHost]:
    host = TokenHost(clock)
    with LiveServer(host.wsgi) as server:
        host.url = server.url.replace("127.0.0.1", "localhost")  # another origin than the server's
        host.widget = live_url
        host.app_id = make_workspace(app, origins=[host.url])
        host.key = make_private_key("Ed25519")
        yield host


def _session(page, app_id: str) -> str:
    return {c["name"]: c["value"] for c in page.context.cookies()}[f"promptify_session_{app_id}"]


def _sign_in(page, host: TokenHost) -> str:
    page.goto(host.url)
    contact = page.evaluate("window.signedIn")
    assert (contact["id"], contact["verified"]) == ("user-42", True)
    return _session(page, host.app_id)


def _send(page, text: str) -> None:
    dialog = page.get_by_role("dialog", name="Support chat")
    if dialog.is_hidden():
        page.get_by_role("button", name="Open support chat").click()
        page.get_by_role("button", name="Start a new conversation").click()
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send message").click()
    expect(dialog.locator("li", has_text=text)).to_be_visible()


def _stored(app, text: str) -> Message:
    with app.app_context():
        return db.session.scalars(select(Message).where(Message.body == text)).one()


def _revoke_for_a_new_key(app, host: TokenHost, old: str, clock: Clock) -> str:
    """An admin adds a new key and revokes the old one at once (a leak); the host's server signs
    with the new key from then on. Returns the new key's thumbprint."""
    host.key = make_private_key("Ed25519")
    new = add_key(app, host.app_id, host.key)
    with app.app_context():
        workspace = db.session.scalars(
            select(Workspace).where(Workspace.app_id == host.app_id)
        ).one()
        assert keys_service.revoke_key(workspace, old, now=clock.current).sessions_ended == 1
    return new


def _wait_for(page, items: list[Any]) -> None:
    for _ in range(250):  # Playwright dispatches route events while it waits
        if items:
            return
        page.wait_for_timeout(20)
    raise AssertionError("the widget never sent the request")


def _advance(page, clock: Clock, seconds: int) -> None:
    """Both clocks: the server's first, so whatever the browser's timers send meets the new time."""
    clock.advance(seconds=seconds)
    page.clock.fast_forward(seconds * 1000)  # due timers fire once, as after a sleeping laptop


def test_provider_keeps_the_session_verified_past_verified_until(app, host, page, clock):
    thumbprint = add_key(app, host.app_id, host.key)
    page.clock.install(time=clock.current)  # the browser starts at the server's time
    session = _sign_in(page, host)
    _send(page, "Before the renewal")
    assert host.tokens_issued == 1

    lead = 55  # the widget renews 60 s before verifiedUntil
    with page.expect_response(lambda r: r.url.endswith("/identify")) as renewal:
        _advance(page, clock, VERIFIED_SECONDS - lead)
    answer = renewal.value.json()
    assert renewal.value.status == 200, answer
    assert answer["session"] == session  # renewed in place: same contact, same session
    assert answer["verifiedUntil"] == iso(clock.current + timedelta(seconds=VERIFIED_SECONDS))
    assert host.tokens_issued == 2  # the provider was asked for a fresh token

    _advance(page, clock, 2 * lead)  # past the first proof's verifiedUntil
    _send(page, "After the first proof lapsed")
    message = _stored(app, "After the first proof lapsed")
    assert (message.verified, message.verified_key) == (True, thumbprint)
    assert host.tokens_issued == 2  # no session_expired to recover from: renewed ahead of time
    assert _session(page, host.app_id) == session


def test_after_a_key_revocation_the_provider_renews_with_the_new_key(app, host, page, clock):
    old = add_key(app, host.app_id, host.key)
    session = _sign_in(page, host)
    _send(page, "Signed with the old key")
    assert _stored(app, "Signed with the old key").verified_key == old

    answers: list[dict[str, Any]] = []
    page.on("response", lambda r: answers.append({"url": r.url, "status": r.status}))
    new = _revoke_for_a_new_key(app, host, old, clock)

    _send(page, "After the revocation")
    message = _stored(app, "After the revocation")
    assert (message.verified, message.verified_key) == (True, new)
    refused = [a for a in answers if "/conversations" in a["url"] and a["status"] == 401]
    assert refused, answers  # a conversation call met session_expired first…
    assert (
        host.tokens_issued == 2
    )  # …so the provider was asked once, and its token renewed the session
    assert _session(page, host.app_id) == session
    assert [e for e in page.console_errors if e.startswith("Promptify")] == []


def test_calls_that_met_the_same_revocation_share_one_renewal(app, host, page, clock):
    old = add_key(app, host.app_id, host.key)
    _sign_in(page, host)
    _send(page, "Before the revocation")
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    late: list[Any] = []

    def answer_the_first_poll_late(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method == "GET" and not late:
            late.append((route, route.fetch()))  # the server answers now; the page hears it later
        else:
            route.continue_()

    _revoke_for_a_new_key(app, host, old, clock)
    page.route("**/conversations/*/messages*", answer_the_first_poll_late)
    _wait_for(page, late)
    route, refused = late[0]
    assert refused.status == 401 and refused.json()["error"]["code"] == "session_expired"
    _send(
        page, "After the revocation"
    )  # meets session_expired too: the provider renews, the post is retried
    assert host.tokens_issued == 2

    with page.expect_response(lambda r: r.url == route.request.url and r.status == 200):
        route.fulfill(
            response=refused
        )  # the poll hears of the lapse after the renewal: it only retries
    assert host.tokens_issued == 2
    assert warnings == []
    assert _stored(app, "After the revocation").verified


def test_without_a_provider_an_expired_session_falls_back_to_anonymous(app, host, page, clock):
    add_key(app, host.app_id, host.key)
    host.provider = False
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.clock.install(time=clock.current)
    session = _sign_in(page, host)
    _send(page, "Only for the verified user")
    dialog = page.get_by_role("dialog", name="Support chat")

    with page.expect_response(lambda r: r.url.endswith("/identify")) as fallback:
        _advance(page, clock, VERIFIED_SECONDS + 1)  # the next poll meets session_expired
    answer = fallback.value.json()
    assert answer["contact"]["anonymous"] is True and answer["verifiedUntil"] is None
    assert answer["session"] != session
    expect(page.get_by_text("No conversations yet")).to_be_visible()  # the empty list, drawn anew
    expect(dialog).not_to_contain_text("Only for the verified user")
    assert _session(page, host.app_id) == answer["session"]
    assert any(
        w.startswith("Promptify: this visitor's verified session expired (verifiedUntil ")
        and "promptify.setTokenProvider(async () => jwt) to renew it without a reload" in w
        for w in warnings
    ), warnings
    assert host.tokens_issued == 1
    assert [e for e in page.console_errors if e.startswith("Promptify")] == []


def test_a_message_racing_the_sign_in_is_retried_on_the_merged_session(app, host, page):
    add_key(app, host.app_id, host.key)
    page.goto(host.url)
    page.evaluate("window.signedIn.then(() => promptify.reset())")
    _send(page, "Asked anonymously")
    held: list[Any] = []

    def hold_the_first_post(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method == "POST" and not held:
            held.append(route)  # sent on the anonymous session, delivered after the merge
        else:
            route.continue_()

    page.route("**/conversations/*/messages", hold_the_first_post)
    page.get_by_label("Message", exact=True).fill("Sent while signing in")
    page.get_by_role("button", name="Send message").click()
    _wait_for(page, held)
    assert (
        page.evaluate("promptify.setUser({id: 'user-7'})")["id"] == "user-7"
    )  # merges the visitor
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.request.method == "POST" else None)
    with page.expect_response(lambda r: r.request.method == "POST" and r.status == 201):
        held[0].continue_()
    assert statuses == [401, 201]  # session_required, then the retry on the new session
    with app.app_context():
        owner = db.session.scalar(
            select(Contact.external_id)
            .join(Conversation)
            .join(Message)
            .where(Message.body == "Sent while signing in")
        )
    assert owner == "user-7"


def test_a_refused_origin_is_named_in_the_console(app, host, page):
    host.app_id = make_workspace(app, origins=["https://app.example.com"])
    add_key(app, host.app_id, host.key)
    page.goto(host.url)
    error = page.evaluate("window.signedIn.catch(e => e)")
    assert error["code"] == "origin_not_allowed"
    assert f"refused this page's origin {host.url}: add it under Settings" in error["message"]
    assert "Allowed origins" in error["message"]
    assert any(
        e.startswith("Promptify: setUser rejected (origin_not_allowed): ")
        for e in page.console_errors
    )


def test_an_unreachable_server_is_told_apart_from_a_refused_origin(app, host, page, live_url):
    add_key(app, host.app_id, host.key)
    page.route(
        f"{live_url}/widget/v1/apps/**", lambda route: route.abort()
    )  # the script still loads
    page.route(f"{live_url}/healthz", lambda route: route.abort())
    page.goto(host.url)
    error = page.evaluate("window.signedIn.catch(e => e)")
    assert error["code"] == "network_error"
    assert error["message"].startswith(f"Could not reach the server at {live_url}/widget/v1")
