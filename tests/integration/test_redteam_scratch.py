"""Red-team scratch tests for the trust-lifecycle change (not product tests; keep or drop).

Each test asserts the behaviour the spec asks for, so a failing test is a finding."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, select

from promptify.extensions import db
from promptify.models import Organization
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
    return client.get(f"/widget/v1/apps/{app_id}/conversations", headers={"X-Promptify-Session": session})


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


# --- Q3: a session written by an identify that raced "Revoke now" comes back when the key is re-added


@pytest.mark.postgresql_only
def test_readding_a_revoked_key_does_not_revive_a_session_that_raced_the_revocation(app, client, app_id, key, clock):
    """PostgreSQL, READ COMMITTED. `_note_key_use` is throttled, so the second identify within a
    minute takes no lock on the key row; the revoke commits between the identify's key check and its
    session INSERT, so its cascade (`end_sessions_verified_by`) cannot see that session. While the
    key stays revoked the session is dead (the join in find_session), but re-adding the key (allowed:
    "adding a retired or revoked key makes it current again") makes it live again, while every
    session the revocation did end stays ended."""
    from promptify.models import Workspace
    from promptify.services import keys as keys_service

    before = identify(client, app_id, {"jwt": _token(key, clock, "u0")}).json["session"]  # sets last_verified_at
    thumbprint = add_key(app, app_id, key)
    revoked = threading.Event()

    def revoke_in_another_process():
        with app.app_context():
            workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
            keys_service.revoke_key(workspace, thumbprint, now=clock.current)
        revoked.set()

    def hook(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO WIDGET_SESSION") and not revoked.is_set():
            worker = threading.Thread(target=revoke_in_another_process)
            worker.start()
            worker.join(timeout=20)
            assert revoked.is_set(), "revoke blocked"

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", hook)
    try:
        raced = identify(client, app_id, {"jwt": _token(key, clock, "u1")})
    finally:
        event.remove(engine, "before_cursor_execute", hook)
    assert revoked.is_set()
    assert raced.status_code == 200, raced.json  # a token of a key revoked before this commit: 200
    raced_session = raced.json["session"]
    assert _conversations(client, app_id, raced_session).json["error"]["code"] == "session_expired"
    assert _conversations(client, app_id, before).json["error"]["code"] == "session_expired"

    add_key(app, app_id, key)  # the admin re-adds the key (e.g. revoked the wrong one)
    assert _conversations(client, app_id, before).status_code == 401  # ended by the revocation: stays ended
    revived = _conversations(client, app_id, raced_session)
    assert revived.status_code == 401, "a session verified by a key revoked before it was written is live again"


# --- Q2: email claims -------------------------------------------------------------------------


def test_a_typed_email_differing_only_in_case_is_still_shown_as_a_claim(app, client, login, app_id, key, clock):
    identify(client, app_id, {"jwt": _token(key, clock, "u1", email="Jane.Doe@example.com")})
    typed = identify(client, app_id, {"id": None, "email": "jane.doe@example.com"}).json["session"]
    conversation_id = client.post(
        f"/widget/v1/apps/{app_id}/conversations", json={"body": "hi"}, headers={"X-Promptify-Session": typed}
    ).json["conversation"]["id"]
    login("agent")
    panel = client.get(f"/inbox/{conversation_id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "claimed, not proven" in panel, "the verified user's address, re-cased, shows as a plain email"


def test_a_claimed_email_is_not_the_plain_title_of_the_conversation(app, client, login, app_id, key, clock):
    identify(client, app_id, {"jwt": _token(key, clock, "u1", email="jane@example.com")})
    typed = identify(client, app_id, {"id": None, "email": "jane@example.com"}).json["session"]
    conversation_id = client.post(
        f"/widget/v1/apps/{app_id}/conversations", json={"body": "hi"}, headers={"X-Promptify-Session": typed}
    ).json["conversation"]["id"]
    login("agent")
    page = client.get(f"/inbox/{conversation_id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<h1>jane@example.com</h1>" not in page, "the thread heading shows the claimed address as the visitor's identity"


# --- Q2: verified organizations ---------------------------------------------------------------


def test_a_signed_token_does_not_launder_attrs_an_unsigned_identify_planted(app, client, app_id, key, clock):
    """Before any signed token mentions it, anyone may create org `acme` unsigned with extra attrs;
    the first signed token that asserts it marks it verified and keeps the planted attrs."""
    identify(client, app_id, {"id": "mallory", "organizations": [
        {"id": "acme", "name": "Acme", "attrs": {"plan": "enterprise", "refund_approved": True}}]})
    identify(client, app_id, {"jwt": _token(key, clock, "u1", organizations=[
        {"id": "acme", "name": "Acme", "attrs": {"plan": "free"}}])})
    with app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.external_id == "acme"))
        assert org.verified
        assert "refund_approved" not in org.attrs, f"verified organization carries unsigned attrs: {org.attrs}"
