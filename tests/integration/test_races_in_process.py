"""Races inside one test process, made deterministic: a statement hook runs a second request (as
another server process would) at the worst moment of the first. Plus crafted input that must
never answer 5xx or lose a failure-log row, and email claims that must not be side-stepped."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, select

from promptify.extensions import db
from tests.factories import add_key, identify, make_private_key, make_workspace, sign


@pytest.fixture
def app_id(app):
    return make_workspace(app)


@pytest.fixture
def key(app, app_id):
    private = make_private_key("Ed25519")
    add_key(app, app_id, private)
    return private


def _token(key, clock, user="u1", **claims):
    return sign(key, {"id": user, "exp": int(clock.current.timestamp()) + 300, **claims})


def _conversations(client, app_id, session):
    return client.get(
        f"/widget/v1/apps/{app_id}/conversations", headers={"X-Promptify-Session": session}
    )


def _race(app, first, second, *, before: tuple[str, ...]):
    """Run `first()` (a request); just before its first statement starting with one of `before`,
    run `second()` to completion in another thread (as another server process would). Returns
    `first()`'s answer and whether `second()` ran."""
    main = threading.current_thread()
    done = threading.Event()

    def run_second():
        second()
        done.set()

    def hook(conn, cursor, statement, parameters, context, executemany):
        if (
            statement.lstrip().upper().startswith(before)
            and threading.current_thread() is main
            and not done.is_set()
        ):
            worker = threading.Thread(target=run_second)
            worker.start()
            worker.join(timeout=20)
            assert done.is_set(), "the second request blocked"

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", hook)
    try:
        return first(), done.is_set()
    finally:
        event.remove(engine, "before_cursor_execute", hook)


# --- crafted input: never a 5xx -------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"User-Agent": "Mozilla\x00/5.0"},
        {"X-Promptify-Session": "a\x00b"},
        {"X-Promptify-Session": "\x7f" * 128},
        {"X-Promptify-Session": "é" * 128},
        {"X-Promptify-Page-Url": "https://example.com/\x00"},
        {"Origin": "https://exa\x00mple.com"},
    ],
)
def test_crafted_headers_on_identify_never_answer_5xx(client, app_id, headers):
    response = identify(client, app_id, {"id": "u1", "name": "Jane"}, **headers)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    response = identify(client, app_id, {"id": None}, **headers)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]


# --- a session written by an identify that raced "Revoke now"


@pytest.mark.postgresql_only
def test_readding_a_revoked_key_does_not_revive_a_session_that_raced_the_revocation(
    app, client, app_id, key, clock
):
    """PostgreSQL, READ COMMITTED: the revoke commits between an identify's key check and its
    session INSERT, so its cascade cannot see that session. The key state read with every session
    keeps it dead, and re-adding the key ends it for good (docs/security.md, "Cascades")."""
    from promptify.models import Workspace
    from promptify.services import keys as keys_service

    before = identify(client, app_id, {"jwt": _token(key, clock, "u0")}).json[
        "session"
    ]  # sets last_verified_at
    thumbprint = add_key(app, app_id, key)

    def revoke_in_another_process():
        with app.app_context():
            workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
            keys_service.revoke_key(workspace, thumbprint, now=clock.current)

    raced, revoked = _race(
        app,
        lambda: identify(client, app_id, {"jwt": _token(key, clock, "u1")}),
        revoke_in_another_process,
        before=("INSERT INTO WIDGET_SESSION",),
    )
    assert revoked
    assert raced.status_code == 200, (
        raced.json
    )  # its key check passed before the revocation committed
    raced_session = raced.json["session"]
    assert _conversations(client, app_id, raced_session).json["error"]["code"] == "session_expired"
    assert _conversations(client, app_id, before).json["error"]["code"] == "session_expired"

    add_key(app, app_id, key)  # the admin re-adds the key (e.g. revoked the wrong one)
    assert (
        _conversations(client, app_id, before).status_code == 401
    )  # ended by the revocation: stays ended
    revived = _conversations(client, app_id, raced_session)
    assert revived.status_code == 401, (
        "a session verified by a key revoked before it was written is live again"
    )


# --- email claims -------------------------------------------------------------------------


def _claimed_conversation(client, login, app_id, key, clock, *, verified: str, typed: str) -> str:
    """A verified user with email `verified`, an anonymous visitor who typed `typed` and wrote;
    returns the visitor's conversation as an agent sees it (htmx fragment)."""
    identify(client, app_id, {"jwt": _token(key, clock, "u1", email=verified)})
    session = identify(client, app_id, {"id": None, "email": typed}).json["session"]
    conversation_id = client.post(
        f"/widget/v1/apps/{app_id}/conversations",
        json={"body": "hi"},
        headers={"X-Promptify-Session": session},
    ).json["conversation"]["id"]
    login("agent")
    return client.get(f"/inbox/{conversation_id}", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )


def test_a_typed_email_differing_only_in_case_is_still_shown_as_a_claim(
    app, client, login, app_id, key, clock
):
    panel = _claimed_conversation(
        client,
        login,
        app_id,
        key,
        clock,
        verified="Jane.Doe@example.com",
        typed="jane.doe@example.com",
    )
    assert "claimed, not proven" in panel, (
        "the verified user's address, re-cased, shows as a plain email"
    )


def test_a_claimed_email_is_not_the_plain_title_of_the_conversation(
    app, client, login, app_id, key, clock
):
    page = _claimed_conversation(
        client, login, app_id, key, clock, verified="jane@example.com", typed="jane@example.com"
    )
    assert "<h1>jane@example.com</h1>" not in page, (
        "the heading shows the claimed address as the visitor's identity"
    )


# --- a read racing the merge of its anonymous session --------------------------------------


def test_a_poll_racing_the_merge_of_its_anonymous_session_is_never_a_5xx(
    app, client, app_id, key, clock
):
    """A poll whose visitor is merged away between its read and its last-use write answers from
    what it read, or `session_required`; never a 5xx (docs/security.md, "Concurrency guarantees")."""
    anonymous = identify(client, app_id, {"id": None}).json["session"]
    client.post(
        f"/widget/v1/apps/{app_id}/conversations",
        json={"body": "hi"},
        headers={"X-Promptify-Session": anonymous},
    )
    clock.advance(seconds=61)  # the poll's last-use write is due

    def sign_in_in_another_process():
        with app.test_client() as other:
            response = identify(other, app_id, {"jwt": _token(key, clock, "u1")}, session=anonymous)
            assert response.status_code == 200

    response, merged = _race(
        app,
        lambda: _conversations(client, app_id, anonymous),
        sign_in_in_another_process,
        before=("BEGIN IMMEDIATE", "UPDATE WIDGET_SESSION SET LAST_USED_AT"),
    )
    assert merged
    assert response.status_code < 500, response.get_data(as_text=True)[:300]


# --- odd claims reach the failure log intact (no silent loss on PostgreSQL JSONB) -----------


@pytest.mark.parametrize(
    "odd",
    [
        {"a\x00b": "x\x00y"},
        {"deep": [[[[[[["x"]]]]]]], "arr": list(range(2000))},
        {"big": 10**40, "neg": -(10**40), "f": 1e308, "tiny": 5e-324},
        {"k" * 300: "v" * 5000},
        {"\u2028\ufeff": "\U0001f600"},
    ],
)
def test_odd_claims_of_a_refused_token_are_logged(app, client, app_id, key, clock, odd):
    from promptify.models import IdentifyFailure

    claims = {"id": "u1", "exp": int(clock.current.timestamp()) - 3600, **odd}
    response = identify(client, app_id, {"jwt": sign(key, claims)})
    assert response.status_code == 401 and response.json["error"]["code"] == "jwt_expired"
    with app.app_context():
        assert db.session.scalar(select(IdentifyFailure)) is not None, "the failure row was lost"


@pytest.mark.parametrize("attrs", [{"n": 10**200}, {"n": -(2**63)}, {"n": 2**64}, {"f": 1e308}])
def test_odd_numbers_in_attrs_never_5xx(client, app_id, attrs):
    organizations = [{"id": "o", "name": "O", "attrs": attrs}]
    response = identify(
        client, app_id, {"id": "u1", "attrs": attrs, "organizations": organizations}
    )
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    again = identify(
        client, app_id, {"id": "u1", "attrs": attrs}, session=response.json.get("session")
    )
    assert again.status_code < 500


# --- the unlocked "settled" path writes bookkeeping to rows a concurrent identify deleted ----

_BOOKKEEPING = ("UPDATE CONTACT SET", "UPDATE WIDGET_SESSION SET")


@pytest.mark.postgresql_only
def test_same_user_page_load_racing_a_switch_in_another_tab_is_never_a_5xx(
    app, client, app_id, clock
):
    session = identify(client, app_id, {"id": "u1"}).json["session"]
    clock.advance(seconds=61)  # the page load's throttled last-seen write is due

    def switch_in_other_tab():
        with app.test_client() as other:
            assert identify(other, app_id, {"id": "u2"}, session=session).status_code == 200

    response, raced = _race(
        app,
        lambda: identify(client, app_id, {"id": "u1"}, session=session),
        switch_in_other_tab,
        before=_BOOKKEEPING,
    )
    assert raced
    assert response.status_code < 500, response.get_data(as_text=True)[:300]


@pytest.mark.postgresql_only
def test_anonymous_page_load_racing_the_sign_in_in_another_tab_is_never_a_5xx(
    app, client, app_id, key, clock
):
    session = identify(client, app_id, {"id": None}).json["session"]
    clock.advance(seconds=61)

    def sign_in_in_other_tab():
        with app.test_client() as other:
            assert (
                identify(
                    other, app_id, {"jwt": _token(key, clock, "u1")}, session=session
                ).status_code
                == 200
            )

    response, raced = _race(
        app,
        lambda: identify(client, app_id, {"id": None}, session=session),
        sign_in_in_other_tab,
        before=_BOOKKEEPING,
    )
    assert raced
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
