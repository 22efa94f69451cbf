"""Console sessions are rows (docs/security.md, "Console sessions"): a copy of a session cookie is
refused once its session ended (sign-out, a password change or reset, deactivation, a role
change), "Keep me signed in" lasts a fixed time from sign-in, Profile › Sessions lists and ends
them, and signing in never reuses what the browser carried before. On every backend; CSRF on."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from flask_login.utils import encode_cookie
from sqlalchemy import event, select

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import AuditAction, AuditEvent, ConsoleSession, Operator
from promptify.services import console_sessions, operators
from tests.conftest import csrf_token_from
from tests.factories import make_workspace

PASSWORD = "a long password"
NEW_PASSWORD = "another long password"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(autouse=True)
def workspace(app):
    return make_workspace(app)


# --- helpers ------------------------------------------------------------------------------------


def _sign_in(
    browser: FlaskClient, email: str, password: str = PASSWORD, *, remember: bool = False, **headers
):
    token = csrf_token_from(browser.get("/login", headers=headers).get_data(as_text=True))
    data = {"email": email, "password": password, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    return browser.post("/login", data=data, headers=headers)


def _browser(app, email: str, *, user_agent: str | None = None, **options) -> FlaskClient:
    """A new client (another browser, sending `user_agent` if given) signed in as `email`."""
    browser = app.test_client()
    if user_agent is not None:
        browser.environ_base["HTTP_USER_AGENT"] = user_agent
    response = _sign_in(browser, email, **options)
    assert response.status_code == 303, response.get_data(as_text=True)
    return browser


def _make(app, role: str, email: str) -> str:
    """Another operator (the `login` fixture signs in only the `client`)."""
    with app.app_context():
        operators.create_operator(email, role.capitalize(), role, PASSWORD, now=app_clock.now())
    return email


def _copy_of(app, browser: FlaskClient) -> FlaskClient:
    """Another client given a copy of `browser`'s session cookie (as a thief would use it)."""
    copy = app.test_client()
    copy.set_cookie("session", browser.get_cookie("session").value)
    return copy


def _signed_in(browser: FlaskClient) -> bool:
    response = browser.get("/inbox")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    return False


def _operator(app, email: str) -> Operator:
    with app.app_context():
        operator = db.session.scalar(select(Operator).where(Operator.email == email))
        assert operator is not None
        db.session.expunge(operator)
        return operator


def _rows(app, email: str) -> list[ConsoleSession]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(ConsoleSession)
                .join(Operator, Operator.id == ConsoleSession.operator_id)
                .where(Operator.email == email)
                .order_by(ConsoleSession.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def _live(app, email: str) -> list[ConsoleSession]:
    return [row for row in _rows(app, email) if row.ended_at is None]


def _logout(browser: FlaskClient):
    token = csrf_token_from(browser.get("/inbox").get_data(as_text=True))
    return browser.post("/logout", data={"csrf_token": token})


def _with_operator(app, email: str, change) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        operator = db.session.scalar(select(Operator).where(Operator.email == email))
        change(operator)


# --- a copied cookie, and what ends its session -------------------------------------------------


def test_a_copied_cookie_is_refused_after_sign_out(app, login):
    email = login("agent")
    browser = _browser(app, email)
    copy = _copy_of(app, browser)
    assert _signed_in(copy)  # the copy works while the session lives: that is the threat

    assert _logout(browser).status_code == 303
    assert not _signed_in(browser)
    assert not _signed_in(copy)
    ended = [row for row in _rows(app, email) if row.ended_at is not None]
    assert len(ended) == 1 and ended[0].ended_at == app_clock_now(app)


def app_clock_now(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        return app_clock.now()


def test_sign_out_ends_only_that_session(client, app, login):
    email = login("agent")
    other = _browser(app, email)
    assert _logout(other).status_code == 303
    assert _signed_in(client)  # the login fixture's session is its own
    assert len(_live(app, email)) == 1


def test_a_password_change_refuses_copies_of_other_sessions_and_keeps_this_one(
    client, app, login, csrf
):
    email = login("agent")
    other = _browser(app, email)
    copy_of_other = _copy_of(app, other)
    copy_of_this = _copy_of(app, client)
    changed = client.post(
        "/profile/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrf_token": csrf("/profile"),
        },
    )
    assert changed.status_code == 303
    assert _signed_in(client) and _signed_in(copy_of_this)  # the changing session continues
    assert not _signed_in(other) and not _signed_in(copy_of_other)
    assert len(_live(app, email)) == 1


@pytest.mark.parametrize("how", ["reset_password", "set_up_operator"])
def test_a_password_reset_by_the_service_refuses_every_copy(client, app, login, clock, how):
    email = login("agent")
    kept = _browser(app, email, remember=True)
    copies = [_copy_of(app, client), _copy_of(app, kept)]
    with app.app_context():
        if how == "reset_password":
            operator = operators.find_by_email(email)
            assert operator is not None
            operators.reset_password(operator, NEW_PASSWORD, now=clock())
        else:  # what `promptify operator create` does for an existing email
            operators.set_up_operator(email, "agent", NEW_PASSWORD, now=clock())
    assert not any(_signed_in(b) for b in (client, kept, *copies))
    assert _live(app, email) == []
    assert _sign_in(app.test_client(), email).status_code == 401  # the old password is refused
    assert _signed_in(_browser(app, email, password=NEW_PASSWORD))


def test_a_password_reset_keeps_the_password_rules(app, login):
    email = login("agent")
    with app.app_context():
        operator = operators.find_by_email(email)
        assert operator is not None
        with pytest.raises(operators.OperatorRuleBroken, match="8 to 1,024 characters"):
            operators.reset_password(operator, "short")
    assert _signed_in(_browser(app, email))  # nothing changed


def test_disabling_refuses_every_copy_and_enabling_revives_none(client, app, login, clock):
    _make(app, "admin", "boss@example.com")  # an admin remains either way
    email = login("agent")
    agent_browser = _browser(app, email, remember=True)
    copies = [_copy_of(app, client), _copy_of(app, agent_browser)]
    assert all(_signed_in(b) for b in copies)

    _with_operator(app, email, lambda op: operators.deactivate(op, now=clock()))
    assert not any(_signed_in(b) for b in (client, agent_browser, *copies))
    assert _sign_in(app.test_client(), email).status_code == 401

    _with_operator(app, email, lambda op: operators.activate(op, now=clock()))
    assert not any(_signed_in(b) for b in (client, agent_browser, *copies))  # none revived
    assert _live(app, email) == []
    assert _signed_in(_browser(app, email))  # signing in again works


def test_enabling_ends_sessions_left_by_a_deactivation_done_elsewhere(client, app, login, clock):
    """An operator deactivated without the service (e.g. in the database): their sessions are
    refused while inactive, and re-activating ends them instead of reviving them."""
    email = login("agent")
    copy = _copy_of(app, client)

    def switch_off(operator: Operator) -> None:
        operator.active = False
        db.session.commit()

    _with_operator(app, email, switch_off)
    assert not _signed_in(copy)
    _with_operator(app, email, lambda op: operators.activate(op, now=clock()))
    assert not _signed_in(copy) and not _signed_in(client)


def test_a_role_change_refuses_every_copy(client, app, login, clock):
    _make(app, "admin", "boss@example.com")
    email = login("agent")
    copy = _copy_of(app, client)
    _with_operator(app, email, lambda op: operators.set_role(op, "admin", now=clock()))
    assert not _signed_in(client) and not _signed_in(copy)
    assert _operator(app, email).role == "admin"


def test_setting_the_same_role_again_ends_nothing(client, app, login, clock):
    email = login("agent")
    _with_operator(app, email, lambda op: operators.set_role(op, "agent", now=clock()))
    assert _signed_in(client)


def test_a_role_change_on_the_team_page_signs_the_operator_out(client, app, login, csrf):
    admin = login("admin")
    agent = _make(app, "agent", "sam@example.com")
    agent_browser = _browser(app, agent)
    admin_browser = _browser(app, admin)
    token = csrf_token_from(admin_browser.get("/settings/team").get_data(as_text=True))
    operator_id = _operator(app, agent).id
    response = admin_browser.post(
        f"/settings/team/{operator_id}/role", data={"role": "admin", "csrf_token": token}
    )
    assert response.status_code == 303
    assert not _signed_in(agent_browser)
    assert _signed_in(admin_browser)  # the admin who changed it is not affected


def test_a_failed_change_ends_nothing(client, app, login, clock):
    """The last admin cannot be demoted: the refused change leaves their sessions alone."""
    email = login("admin")
    with pytest.raises(operators.OperatorRuleBroken):
        _with_operator(app, email, lambda op: operators.set_role(op, "agent", now=clock()))
    with pytest.raises(operators.OperatorRuleBroken):
        _with_operator(app, email, lambda op: operators.deactivate(op, now=clock()))
    assert _signed_in(client)


# --- lifetimes ----------------------------------------------------------------------------------


def test_keep_me_signed_in_lasts_a_fixed_time_from_sign_in(app, login, clock):
    email = login("agent")
    kept = app.test_client()
    response = _sign_in(kept, email, remember=True)
    assert response.status_code == 303
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Expires=" in cookie  # the cookie outlives the browser
    row = _live(app, email)[-1]
    assert row.remember and row.expires_at - row.created_at == timedelta(days=30)

    clock.advance(days=29, hours=23)
    assert _signed_in(kept)  # used now: a kept session does not move its end
    assert _live(app, email)[-1].expires_at == row.expires_at
    clock.advance(hours=1)
    assert not _signed_in(kept)
    assert not _signed_in(_copy_of(app, kept))


def test_without_keep_me_signed_in_the_cookie_dies_with_the_browser_and_idle_sessions_end(
    app, login, clock
):
    email = login("agent")
    browser = app.test_client()
    response = _sign_in(browser, email)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Expires=" not in cookie and "Max-Age" not in cookie  # a browser-session cookie
    idle = timedelta(seconds=app.config["CONSOLE_SESSION_IDLE_SECONDS"])
    assert idle == timedelta(days=14)

    clock.advance(seconds=idle.total_seconds() - 60)
    assert _signed_in(browser)  # used: its end moves on
    clock.advance(seconds=idle.total_seconds() - 60)
    assert _signed_in(browser)
    clock.advance(seconds=idle.total_seconds() + 1)  # unused too long
    assert not _signed_in(browser)


def test_last_seen_is_written_at_most_once_a_minute(client, app, login, clock):
    email = login("agent")
    first = _live(app, email)[0]
    clock.advance(seconds=30)
    assert _signed_in(client)
    assert _live(app, email)[0].last_seen_at == first.last_seen_at
    clock.advance(seconds=31)
    assert _signed_in(client)
    assert _live(app, email)[0].last_seen_at == first.last_seen_at + timedelta(seconds=61)


def test_each_request_finds_its_session_with_one_query(client, app, login, clock):
    email = login("agent")
    with client.session_transaction() as session:
        raw = session["_user_id"]
    statements: list[str] = []
    with app.app_context():

        def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            live = console_sessions.find_live(raw, now=clock())
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert live is not None and live.operator.email == email
        assert not live.two_factor_required
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 1 and "FROM console_session JOIN operator" in queries[0]
    assert "console_session.token_hash =" in queries[0]


def test_the_database_keeps_only_the_tokens_hash(client, app, login):
    email = login("agent")
    with client.session_transaction() as session:
        token = session["_user_id"]
    assert len(token) == 43  # 256 random bits
    (row,) = _live(app, email)
    assert row.token_hash == console_sessions.token_hash(token) and token not in row.token_hash


def test_an_old_remember_me_cookie_signs_nobody_in_and_is_deleted(app, login):
    email = login("agent")
    operator_id = _operator(app, email).id
    browser = app.test_client()
    with app.test_request_context():  # what the previous version wrote: "<id>:<generation>"
        old = encode_cookie(f"{operator_id}:0")
    browser.set_cookie("remember_token", old)
    response = browser.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    deleted = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert deleted and "Expires=Thu, 01 Jan 1970" in deleted[0]
    assert browser.get_cookie("remember_token") is None
    assert _sign_in(browser, email, remember=True).status_code == 303
    assert browser.get_cookie("remember_token") is None  # never written any more


# --- sign-in fixation ---------------------------------------------------------------------------


def test_a_cookie_from_before_sign_in_is_not_signed_in_with_it(app, login):
    email = login("agent")
    victim = app.test_client()
    victim.get("/login")
    planted = _copy_of(app, victim)  # the attacker kept the cookie it planted in the browser
    before = victim.get_cookie("session").value
    assert _sign_in(victim, email).status_code == 303
    assert victim.get_cookie("session").value != before
    assert _signed_in(victim)
    assert not _signed_in(planted)


def test_signing_in_again_never_reuses_the_token_the_browser_carried(app, login):
    email = login("agent")
    browser = _browser(app, email)
    with browser.session_transaction() as session:
        before = session["_user_id"]
    stale_copy = _copy_of(app, browser)
    _with_operator(app, email, lambda op: console_sessions.end_all_of(op, now=app_clock_now(app)))
    assert not _signed_in(browser)  # the cookie still carries the ended session's token
    assert _sign_in(browser, email).status_code == 303
    with browser.session_transaction() as session:
        assert session["_user_id"] != before
    assert _signed_in(browser)
    assert not _signed_in(stale_copy)


# --- Profile › Sessions -------------------------------------------------------------------------


def _session_rows(html: str) -> dict[str, str]:
    return {
        m.group(1): m.group(0)
        for m in re.finditer(r'<tr id="session-(\d+)"[^>]*>.*?</tr>', html, re.S)
    }


def test_the_sessions_page_lists_live_sessions_in_the_operators_time_zone(app, login, clock):
    email = login("agent")
    with app.app_context():
        operator = operators.find_by_email(email)
        assert operator is not None
        operators.update_profile(operator, time_zone="Europe/Berlin")
    phone = _browser(app, email, remember=True, user_agent=SAFARI)
    laptop = _browser(app, email, user_agent=FIREFOX)
    gone = _browser(app, email)
    assert _logout(gone).status_code == 303
    clock.advance(minutes=5)
    html = laptop.get("/profile/sessions").get_data(as_text=True)
    rows = _session_rows(html)
    live = {str(row.id): row for row in _live(app, email)}
    assert set(rows) == set(live) and len(rows) == 3  # the fixture's, the phone's, the laptop's
    this = [i for i, row in rows.items() if "this session" in row]
    assert len(this) == 1 and "Firefox on Linux" in rows[this[0]]
    assert 'class="this-session"' in rows[this[0]]
    phone_row = next(row for row in rows.values() if "Safari on iOS" in row)
    assert "Kept signed in until" in phone_row and "127.0.0.1" in phone_row
    assert f'title="{SAFARI}"' in phone_row
    created = live[this[0]].created_at
    assert (
        f'<time datetime="{created:%Y-%m-%dT%H:%M:%SZ}" title="{created:%Y-%m-%d %H:%M} UTC">'
        in rows[this[0]]
    )
    assert ("CET</time>" in html) or ("CEST</time>" in html)  # in the operator's zone
    assert phone.get("/profile/sessions").status_code == 200


def test_sign_out_of_another_session_from_the_list(app, login):
    email = login("agent")
    other = _browser(app, email)
    me = _browser(app, email)
    html = me.get("/profile/sessions").get_data(as_text=True)
    other_id = str(_live(app, email)[1].id)  # after the login fixture's
    assert "this session" not in _session_rows(html)[other_id]
    token = csrf_token_from(html)
    response = me.post(f"/profile/sessions/{other_id}/end", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/profile/sessions"
    page = me.get("/profile/sessions").get_data(as_text=True)
    assert "Signed out: that browser has to sign in again." in page
    assert other_id not in _session_rows(page)
    assert not _signed_in(other) and _signed_in(me)
    again = me.post(f"/profile/sessions/{other_id}/end", data={"csrf_token": token})
    assert again.status_code == 303
    assert "That session had already ended." in me.get("/profile/sessions").get_data(as_text=True)


def test_sign_out_of_this_session_from_the_list(app, login):
    email = login("agent")
    me = _browser(app, email)
    copy = _copy_of(app, me)
    html = me.get("/profile/sessions").get_data(as_text=True)
    (this_id,) = [i for i, row in _session_rows(html).items() if "this session" in row]
    response = me.post(
        f"/profile/sessions/{this_id}/end", data={"csrf_token": csrf_token_from(html)}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert not _signed_in(me) and not _signed_in(copy)


def test_nobody_ends_another_operators_session(client, app, login):
    victim = login("agent")
    victim_browser = _browser(app, victim)
    victim_id = str(_live(app, victim)[-1].id)
    attacker = _browser(app, _make(app, "agent", "mallory@example.com"))
    html = attacker.get("/profile/sessions").get_data(as_text=True)
    assert victim_id not in _session_rows(html)
    response = attacker.post(
        f"/profile/sessions/{victim_id}/end", data={"csrf_token": csrf_token_from(html)}
    )
    assert response.status_code == 303
    assert _signed_in(victim_browser)


def test_sign_out_everywhere(client, app, login):
    email = login("agent")
    others = [_browser(app, email), _browser(app, email, remember=True)]
    me = _browser(app, email)
    copy = _copy_of(app, me)
    html = me.get("/profile/sessions").get_data(as_text=True)
    assert 'data-confirm="Sign out of every browser, this one included?"' in html
    response = me.post("/profile/sessions/end-all", data={"csrf_token": csrf_token_from(html)})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "Signed out everywhere, this browser included." in me.get("/login").get_data(
        as_text=True
    )
    assert not any(_signed_in(b) for b in (client, me, copy, *others))
    assert _live(app, email) == []


def test_session_posts_need_csrf_and_a_signed_in_operator(client, app, login):
    email = login("agent")
    assert client.post("/profile/sessions/end-all").status_code == 400
    session_id = _live(app, email)[0].id
    assert client.post(f"/profile/sessions/{session_id}/end").status_code == 400
    assert _signed_in(client)
    anonymous = app.test_client()
    page = anonymous.get("/profile/sessions")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_the_stored_user_agent_is_printable_and_bounded(app, login):
    email = login("agent")
    _browser(app, email, user_agent="Evil\x07Bot/1.0 " + "x" * 400)
    stored = _live(app, email)[-1].user_agent
    assert stored.startswith("EvilBot/1.0 x") and len(stored) == 255
    assert all(c.isprintable() for c in stored)


def test_the_profile_links_the_sessions(client, app, login):
    login("agent")
    html = client.get("/profile").get_data(as_text=True)
    assert 'href="/profile/sessions"' in html and "Signed in on 1 browser " in html


def test_sign_ins_are_recorded_with_the_address(app, login):
    email = login("agent")
    assert _sign_in(app.test_client(), email, "a wrong password").status_code == 401
    with app.app_context():
        events = list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.actor == email).order_by(AuditEvent.id)
            )
        )
        assert [e.action for e in events] == [
            AuditAction.SIGN_IN_SUCCEEDED,
            AuditAction.SIGN_IN_FAILED,
        ]
        assert all(e.address == "127.0.0.1" for e in events)
