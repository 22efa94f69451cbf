"""Every operator's profile (docs/operations.md, "The console"): the display name visitors see as
`authorName`, the time zone console times are shown in, email notifications, and the password,
whose change ends the operator's other console sessions (docs/security.md, "Console sessions").
On every backend; CSRF stays on."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import ConsoleSession, Conversation, Operator
from promptify.services import operators, teamwork
from tests.conftest import csrf_token_from
from tests.factories import identify, make_workspace
from tests.integration.test_settings_installation import assert_csp_clean

HX = {"HX-Request": "true"}
PASSWORD = "a long password"
NEW_PASSWORD = "another long password"
WINTER = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)  # Berlin is UTC+1 (CET)
SUMMER = datetime(2025, 7, 15, 12, 0, tzinfo=UTC)  # Berlin is UTC+2 (CEST)
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def app_id(app):
    return make_workspace(app)


# --- helpers ------------------------------------------------------------------------------------


def _operator(app, email: str) -> dict:
    with app.app_context():
        operator = db.session.scalar(select(Operator).where(Operator.email == email))
        return {
            "id": operator.id,
            "name": operator.name,
            "time_zone": operator.time_zone,
            "notify_email": operator.notify_email,
            "live_sessions": _live_sessions(operator.id),
            "password_hash": operator.password_hash,
        }


def _live_sessions(operator_id: int) -> int:
    return len(
        db.session.scalars(
            select(ConsoleSession.id).where(
                ConsoleSession.operator_id == operator_id, ConsoleSession.ended_at.is_(None)
            )
        ).all()
    )


def _copy_of(app, browser: FlaskClient) -> FlaskClient:
    """Another client carrying a copy of `browser`'s session cookie."""
    copy = app.test_client()
    copy.set_cookie("session", browser.get_cookie("session").value)
    return copy


def _sign_in(client: FlaskClient, email: str, password: str = PASSWORD, remember: bool = False):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    data = {"email": email, "password": password, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


def _post(client: FlaskClient, path: str, data: dict, token: str, **headers: str):
    return client.post(path, data={**data, "csrf_token": token}, headers=headers)


def _change_password(client, token, current=PASSWORD, new=NEW_PASSWORD, confirm=None, **headers):
    return _post(
        client,
        "/profile/password",
        {
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
        token,
        **headers,
    )


def _property_operator(app, client, **profile) -> tuple[str, str]:
    """The operator (and CSRF token) every example of a property test uses, signed in once since
    sign-in is rate limited, and with its profile set to `profile` again."""
    email = "property@example.com"
    page = client.get("/profile")
    if page.status_code != 200:
        with app.app_context():
            operators.create_operator(email, "Before", "agent", PASSWORD, now=app_clock.now())
        assert _sign_in(client, email).status_code == 303
        page = client.get("/profile")
    with app.app_context():
        operator = db.session.scalar(select(Operator).where(Operator.email == email))
        operators.update_profile(operator, **profile)
    return email, csrf_token_from(page.get_data(as_text=True))


def _errors(html: str) -> list[str]:
    return re.findall(r'<p class="error" id="[^"]+" role="alert">([^<]*)</p>', html)


def _start_conversation(client, app_id: str) -> tuple[str, int]:
    """A visitor's widget session and a conversation they started."""
    session = identify(client, app_id, {"id": "visitor-1", "name": "Wanda"}).json["session"]
    started = client.post(
        f"/widget/v1/apps/{app_id}/conversations",
        json={"body": "Hello, I need help"},
        headers={"X-Promptify-Session": session},
    )
    assert started.status_code == 201, started.json
    return session, started.json["conversation"]["id"]


def _reply(app, conversation_id: int, email: str, body: str) -> None:
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        operator = db.session.scalar(select(Operator).where(Operator.email == email))
        teamwork.reply(conversation, operator, body, now=app_clock.now())


def _author_names(client, app_id: str, session: str, conversation_id: int) -> list[str | None]:
    response = client.get(
        f"/widget/v1/apps/{app_id}/conversations/{conversation_id}/messages",
        headers={"X-Promptify-Session": session},
    )
    assert response.status_code == 200, response.json
    return [m["authorName"] for m in response.json["messages"] if m["author"] == "agent"]


# --- the page -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_every_operator_reaches_their_profile_from_the_header(client, app_id, login, role):
    login(role)
    inbox = client.get("/inbox").get_data(as_text=True)
    assert re.search(r'<nav class="mainnav"[^>]*>.*?<a href="/profile"', inbox, re.S)
    page = client.get("/profile")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'aria-current="page">Profile</a>' in html
    for action in ("/profile/name", "/profile/time-zone", "/profile/notifications"):
        assert f'action="{action}"' in html
    assert 'action="/profile/password"' in html and 'name="current_password"' in html
    assert 'src="/static/profile.js"' in html
    assert_csp_clean(html)


def test_the_profile_needs_a_signed_in_operator(client, app_id):
    response = client.get("/profile")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/profile/name", data={"name": "x"}).status_code == 400  # no CSRF token


# --- display name -------------------------------------------------------------------------------


def test_display_name_is_the_author_name_visitors_see(client, app, app_id, login, csrf):
    session, cid = _start_conversation(client, app_id)
    email = login("agent")
    _reply(app, cid, email, "Hi, this is before the rename")
    assert _author_names(client, app_id, session, cid) == ["Agent"]

    saved = _post(client, "/profile/name", {"name": "  Kim from Acme  "}, csrf("/profile"))
    assert saved.status_code == 303 and saved.headers["Location"] == "/profile"
    assert _operator(app, email)["name"] == "Kim from Acme"  # stripped
    _reply(app, cid, email, "And after it")
    # the widget names every reply of the operator by their current name
    assert _author_names(client, app_id, session, cid) == ["Kim from Acme", "Kim from Acme"]
    page = client.get("/profile").get_data(as_text=True)
    assert "Saved: visitors now see your replies as Kim from Acme." in page
    assert 'value="Kim from Acme"' in page


def test_htmx_saves_navigate_and_htmx_errors_swap_the_section(client, app, app_id, login, csrf):
    email = login("agent")
    token = csrf("/profile")
    saved = _post(client, "/profile/name", {"name": "Kim"}, token, **HX)
    assert saved.status_code == 204 and saved.headers["HX-Redirect"] == "/profile"
    refused = _post(client, "/profile/name", {"name": "   "}, token, **HX)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "<html" not in html
    assert html.lstrip().startswith('<section class="card" id="profile-name"')
    assert _errors(html) == ["Enter a display name: visitors see it on your replies."]
    assert _operator(app, email)["name"] == "Kim"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "Enter a display name: visitors see it on your replies."),
        (" \t ", "Enter a display name: visitors see it on your replies."),
        ("Kim\x00", "contains an invisible or control character (U+0000)"),
        ("Kim\nSmith", "contains an invisible or control character (U+000A)"),
        ("Kim\x1b[31m", "contains an invisible or control character (U+001B)"),
        ("Kim\u200bSmith", "contains an invisible or control character (U+200B)"),
        ("Kim\u202eSmith", "contains an invisible or control character (U+202E)"),
        ("K" * 256, "The display name may have at most 255 characters."),
    ],
)
def test_bad_display_names_are_refused_in_the_form(client, app, app_id, login, csrf, name, error):
    email = login("agent")
    before = _operator(app, email)
    response = _post(client, "/profile/name", {"name": name}, csrf("/profile"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert any(error in message for message in _errors(html)), _errors(html)
    assert 'aria-invalid="true"' in html and "<html" in html  # the whole page, field marked
    assert _operator(app, email) == before


def test_the_longest_display_name_is_kept_whole(client, app, app_id, login, csrf):
    email = login("agent")
    name = "Ä" * 254 + "🙂"  # 255 characters, 510+ bytes: the limit counts characters
    assert _post(client, "/profile/name", {"name": name}, csrf("/profile")).status_code == 303
    assert _operator(app, email)["name"] == name


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.text(max_size=300) | st.sampled_from(["\x00", " a ", "\u2028", "a" * 255]))
def test_any_display_name_is_saved_cleaned_or_refused_whole(app, client, name):
    email, token = _property_operator(app, client, name="Before")
    response = _post(client, "/profile/name", {"name": name}, token)
    stored = _operator(app, email)["name"]
    cleaned = name.strip()
    if 0 < len(cleaned) <= 255 and cleaned.isprintable():
        assert response.status_code == 303, response.get_data(as_text=True)
        assert stored == cleaned
    else:
        assert response.status_code == 422, response.get_data(as_text=True)
        assert stored == "Before"


def test_a_display_name_is_escaped_on_every_page_and_plain_text_in_the_widget(
    client, app, app_id, login, csrf
):
    session, cid = _start_conversation(client, app_id)
    email = login("admin")
    assert _post(client, "/profile/name", {"name": XSS}, csrf("/profile")).status_code == 303
    _reply(app, cid, email, "Hello from the team")
    assert _author_names(client, app_id, session, cid) == [XSS]  # JSON: the text, as typed
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    pages = {
        "profile": (client.get("/profile"), f'value="{escaped}"'),
        "team": (client.get("/settings/team"), f'<span class="operator-name">{escaped}</span>'),
        "thread": (client.get(f"/inbox/{cid}", headers=HX), escaped),  # the reply's author
        "inbox": (client.get("/inbox"), f"{escaped} · admin"),  # the header
    }
    for label, (response, shown) in pages.items():
        html = response.get_data(as_text=True)
        assert response.status_code == 200, label
        assert "<img" not in html and shown in html, label
        assert_csp_clean(html)


# --- time zone ----------------------------------------------------------------------------------


def _contact_times(html: str) -> list[str]:
    return re.findall(r"<time [^>]*>[^<]*</time>", html)


def test_console_times_are_shown_in_the_operators_time_zone_with_utc_on_hover(
    client, app, app_id, login, csrf, clock
):
    clock.current = WINTER
    identify(client, app_id, {"id": "visitor-1", "name": "Wanda"})  # seen now
    email = login("agent")
    utc = '<time datetime="2025-01-15T12:00:00Z" title="2025-01-15 12:00 UTC">'
    assert _contact_times(client.get("/contacts").get_data(as_text=True)) == [
        utc + "2025-01-15 12:00 UTC</time>"
    ]

    saved = _post(client, "/profile/time-zone", {"time_zone": "Europe/Berlin"}, csrf("/profile"))
    assert saved.status_code == 303 and _operator(app, email)["time_zone"] == "Europe/Berlin"
    assert _contact_times(client.get("/contacts").get_data(as_text=True)) == [
        utc + "2025-01-15 13:00 CET</time>"
    ]
    # the details panel of the conversation renders its times the same way
    _, cid = _start_conversation(client, app_id)
    panel = client.get(f"/inbox/{cid}").get_data(as_text=True)
    assert utc + "2025-01-15 13:00 CET</time>" in panel
    # the profile says what time it is in the zone, and so does the clock in summer
    clock.current = SUMMER
    assert client.get("/profile").status_code == 302  # half a year unused: the session ended
    assert _sign_in(client, email).status_code == 303
    profile = client.get("/profile").get_data(as_text=True)
    assert (
        '<time datetime="2025-07-15T12:00:00Z" title="2025-07-15 12:00 UTC">'
        "2025-07-15 14:00 CEST</time>"
    ) in profile
    assert 'value="Europe/Berlin"' in profile


def test_a_time_zone_is_stored_as_the_tz_database_spells_it(client, app, app_id, login, csrf):
    email = login("agent")
    token = csrf("/profile")
    assert _operator(app, email)["time_zone"] == "UTC"  # the default
    for typed, stored in [
        ("america/new_york", "America/New_York"),
        (" Asia/Kolkata ", "Asia/Kolkata"),
        ("UTC", "UTC"),
    ]:
        assert _post(client, "/profile/time-zone", {"time_zone": typed}, token).status_code == 303
        assert _operator(app, email)["time_zone"] == stored


@pytest.mark.parametrize(
    ("time_zone", "error"),
    [
        ("", "Enter a time zone such as Europe/Berlin."),
        ("Mars/Olympus_Mons", "Unknown time zone"),
        ("Europe/Berlin\x00", "Unknown time zone"),
        ("../../../etc/passwd", "Unknown time zone"),
        ("localtime", "Unknown time zone"),  # the server's zone, not an IANA name
        ("+02:00", "Unknown time zone"),
        ("E" * 65, "A time zone name has at most 64 characters."),
    ],
)
def test_unknown_time_zones_are_refused_in_the_form(
    client, app, app_id, login, csrf, time_zone, error
):
    email = login("agent")
    response = _post(client, "/profile/time-zone", {"time_zone": time_zone}, csrf("/profile"))
    assert response.status_code == 422
    assert any(error in message for message in _errors(response.get_data(as_text=True)))
    assert _operator(app, email)["time_zone"] == "UTC"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    time_zone=st.text(max_size=80)
    | st.sampled_from(sorted(operators.time_zone_names()))
    | st.sampled_from(["Europe/Berlin\n", "Etc/GMT+5", "etc/gmt-14", "EST5EDT", "Europe//Berlin"])
)
def test_any_time_zone_is_saved_as_a_known_name_or_refused(app, client, time_zone):
    email, token = _property_operator(app, client, time_zone="UTC")
    response = _post(client, "/profile/time-zone", {"time_zone": time_zone}, token)
    stored = _operator(app, email)["time_zone"]
    known = {name.lower(): name for name in operators.time_zone_names()}
    wanted = known.get(time_zone.strip().lower())
    if wanted is not None:
        assert response.status_code == 303 and stored == wanted
    else:
        assert response.status_code == 422 and stored == "UTC"
    assert "<time" in client.get("/profile").get_data(as_text=True)  # pages still render


def test_a_zone_this_host_does_not_know_renders_times_in_utc(client, app, app_id, login, clock):
    clock.current = WINTER
    identify(client, app_id, {"id": "visitor-1"})
    email = login("agent")
    with app.app_context():  # e.g. a name a later tz database dropped
        db.session.scalar(select(Operator).where(Operator.email == email)).time_zone = "Gone/Away"
        db.session.commit()
    html = client.get("/contacts").get_data(as_text=True)
    assert "2025-01-15 12:00 UTC</time>" in html


# --- notifications ------------------------------------------------------------------------------


def _notify_box(html: str) -> str:
    match = re.search(r'<input [^>]*name="notify_email"[^>]*>', html)
    assert match, "no notification checkbox"
    return match.group(0)


def test_the_email_notification_choice_is_stored(client, app, app_id, login, csrf):
    email = login("agent")
    token = csrf("/profile")
    assert _operator(app, email)["notify_email"] is True  # on by default
    assert " checked " in _notify_box(client.get("/profile").get_data(as_text=True))
    off = _post(client, "/profile/notifications", {}, token)  # an unticked box sends nothing
    assert off.status_code == 303 and _operator(app, email)["notify_email"] is False
    page = client.get("/profile").get_data(as_text=True)
    assert "Saved: you get no notification emails." in page
    assert "checked" not in _notify_box(page)
    on = _post(client, "/profile/notifications", {"notify_email": "y"}, token)
    assert on.status_code == 303 and _operator(app, email)["notify_email"] is True
    assert " checked " in _notify_box(client.get("/profile").get_data(as_text=True))


# --- password -----------------------------------------------------------------------------------


def test_a_password_change_needs_the_current_password(client, app, app_id, login, csrf):
    email = login("agent")
    before = _operator(app, email)
    token = csrf("/profile")
    wrong = _change_password(client, token, current="not my password")
    assert wrong.status_code == 422
    assert _errors(wrong.get_data(as_text=True)) == ["The current password is wrong."]
    missing = _change_password(client, token, current="")
    assert missing.status_code == 422
    assert _errors(missing.get_data(as_text=True)) == ["Enter your current password."]
    assert _operator(app, email) == before  # same hash, same generation
    assert client.get("/inbox").status_code == 200


@pytest.mark.parametrize(
    ("new", "confirm", "error"),
    [
        ("short", None, "The new password needs 8 to 1,024 characters."),
        ("x" * 1025, None, "The new password needs 8 to 1,024 characters."),
        ("", None, "Enter a new password."),
        (NEW_PASSWORD, "a different one", "The two new passwords differ."),
    ],
)
def test_bad_new_passwords_are_refused_in_the_form(
    client, app, app_id, login, csrf, new, confirm, error
):
    email = login("agent")
    before = _operator(app, email)
    response = _change_password(client, csrf("/profile"), new=new, confirm=confirm, **HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and _errors(html) == [error]
    assert html.lstrip().startswith('<section class="card" id="profile-password"')
    assert PASSWORD not in html and (len(new) < 8 or new not in html)  # never sent back
    assert _operator(app, email) == before


def test_the_service_applies_the_same_rules_as_the_form(app, login):
    email = login("agent")
    with app.app_context():
        operator = db.session.scalar(select(Operator).where(Operator.email == email))
        with pytest.raises(operators.ProfileRejected, match="at least 8 characters") as short:
            operators.change_password(
                operator, PASSWORD, "1234567", now=app_clock.now(), keep_session_id=None
            )
        assert short.value.field == "new_password"
        with pytest.raises(operators.ProfileRejected, match="at most 1,024 characters"):
            operators.change_password(
                operator, PASSWORD, "x" * 1025, now=app_clock.now(), keep_session_id=None
            )
        with pytest.raises(operators.ProfileRejected, match="U\\+0007"):
            operators.update_profile(operator, name="ding\x07", time_zone="Europe/Berlin")
        with pytest.raises(operators.ProfileRejected) as zone:
            operators.update_profile(operator, name="Fine name", time_zone="Nowhere")
        assert zone.value.field == "time_zone"
    after = _operator(app, email)
    assert (after["name"], after["time_zone"]) == ("Agent", "UTC")  # nothing half-written


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(
    client, app, app_id, login, csrf
):
    email = login("agent")
    other = app.test_client()  # the same operator in another browser
    assert _sign_in(other, email).status_code == 303
    assert other.get("/inbox").status_code == 200

    changed = _change_password(client, csrf("/profile"))
    assert changed.status_code == 303 and changed.headers["Location"] == "/profile"
    assert _operator(app, email)["live_sessions"] == 1  # the one that changed it

    page = client.get("/profile")  # this session continues
    assert page.status_code == 200
    assert "Password changed. Your other console sessions are signed out." in page.get_data(
        as_text=True
    )
    assert client.get("/inbox").status_code == 200
    ended = other.get("/inbox")  # the other one is sent to sign in at its next request
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]
    assert other.get("/profile").status_code == 302

    third = app.test_client()
    assert _sign_in(third, email, PASSWORD).status_code == 401  # the old password is refused
    assert _sign_in(third, email, NEW_PASSWORD).status_code == 303
    assert third.get("/inbox").status_code == 200
    assert other.get("/inbox").status_code == 302  # still out, until it signs in again


def test_kept_signed_in_sessions_from_before_the_change_end_too(client, app, app_id, login, csrf):
    email = login("agent")
    other = app.test_client()
    assert _sign_in(other, email, remember=True).status_code == 303
    assert other.get("/inbox").status_code == 200
    assert _change_password(client, csrf("/profile")).status_code == 303
    assert other.get("/inbox").status_code == 302  # "Keep me signed in" keeps it no longer
    assert _copy_of(app, other).get("/inbox").status_code == 302


def test_this_browsers_kept_session_continues_after_the_change(client, app, app_id, login):
    email = login("agent")
    me = app.test_client()
    assert _sign_in(me, email, remember=True).status_code == 303
    token = csrf_token_from(me.get("/profile").get_data(as_text=True))
    assert _change_password(me, token).status_code == 303
    assert me.get("/inbox").status_code == 200  # still signed in, with the same cookie
    assert _copy_of(app, me).get("/inbox").status_code == 200  # (its token stays valid)
    assert client.get("/inbox").status_code == 302  # the login fixture's session ended


def test_session_cookies_from_before_console_sessions_are_refused(client, app, app_id, login):
    """What a session carried before sessions were rows: the operator's id (and a generation)."""
    email = login("agent")
    operator_id = _operator(app, email)["id"]
    for old_value in (str(operator_id), f"{operator_id}:0"):
        other = app.test_client()
        assert _sign_in(other, email).status_code == 303
        with other.session_transaction() as session:
            session["_user_id"] = old_value
        assert other.get("/inbox").status_code == 302


def test_sign_out_ends_a_kept_signed_in_session(client, app, app_id, login):
    email = login("agent")
    browser = app.test_client()
    assert _sign_in(browser, email, remember=True).status_code == 303
    copy = _copy_of(app, browser)
    token = csrf_token_from(browser.get("/inbox").get_data(as_text=True))
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 303
    assert browser.get("/inbox").status_code == 302
    assert copy.get("/inbox").status_code == 302  # the cookie's copy too
    assert client.get("/inbox").status_code == 200  # another browser's session is its own


def test_a_concurrent_password_change_wins_and_the_later_one_is_refused(app, login):
    """Both checked the same current password; the one that writes second finds it replaced."""
    email = login("agent")
    with app.app_context():
        operator = db.session.scalar(select(Operator).where(Operator.email == email))
        seen_by_the_other = Operator(id=operator.id, password_hash=operator.password_hash)
        operators.change_password(
            operator, PASSWORD, NEW_PASSWORD, now=app_clock.now(), keep_session_id=None
        )
        with pytest.raises(operators.ProfileRejected, match="current password is wrong"):
            operators.change_password(
                seen_by_the_other,
                PASSWORD,
                "a third long password",
                now=app_clock.now(),
                keep_session_id=None,
            )
    assert _operator(app, email)["live_sessions"] == 0
    assert _sign_in(app.test_client(), email, NEW_PASSWORD).status_code == 303


def test_wrong_current_passwords_are_rate_limited(client, app, app_id, login, csrf):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    login("agent")
    token = csrf("/profile")
    statuses = [
        _change_password(client, token, current="guess number one").status_code for _ in range(4)
    ]
    assert statuses == [422, 422, 422, 429]


# --- CSRF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/profile/name", {"name": "Mallory"}),
        ("/profile/time-zone", {"time_zone": "Europe/Berlin"}),
        ("/profile/notifications", {}),
        (
            "/profile/password",
            {"current_password": PASSWORD, "new_password": "x" * 12, "confirm_password": "x" * 12},
        ),
    ],
)
def test_every_profile_form_needs_its_csrf_token(client, app, app_id, login, path, data):
    email = login("agent")
    before = _operator(app, email)
    assert client.post(path, data=data).status_code == 400
    assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 400
    assert _operator(app, email) == before
    assert client.get("/inbox").status_code == 200


# --- the demo -----------------------------------------------------------------------------------


def test_the_demo_admin_has_a_display_name_and_keeps_a_changed_one(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert _operator(app, "admin@example.com")["name"] == "Alex from Acme"
    with app.app_context():
        admin = db.session.scalar(select(Operator).where(Operator.email == "admin@example.com"))
        operators.update_profile(admin, name="Sam")
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert _operator(app, "admin@example.com")["name"] == "Sam"
