"""Session rules of identify (docs/widget-api.md, "Identify"): tracking, merge of an anonymous
visitor, user switch and logout."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from promptify.extensions import db
from promptify.models import Contact, Conversation, WidgetSession
from promptify.services.sessions import token_hash
from tests.factories import identify, make_workspace, stored_contacts


@pytest.fixture
def app_id(app):
    return make_workspace(app)


def _session_contact(app, token: str) -> Contact | None:
    with app.app_context():
        session = db.session.scalar(
            select(WidgetSession).where(WidgetSession.token_hash == token_hash(token))
        )
        return None if session is None else db.session.get(Contact, session.contact_id)


def _add_conversation(app, contact_pk: int, now) -> int:
    with app.app_context():
        contact = db.session.get(Contact, contact_pk)
        conversation = Conversation(
            workspace_id=contact.workspace_id,
            contact_id=contact.id,
            status="open",
            preview="Hello",
            created_at=now,
            last_message_at=now,
        )
        db.session.add(conversation)
        db.session.commit()
        return conversation.id


def test_anonymous_visitor_merges_into_identified_contact(client, app, app_id, clock):
    anonymous = identify(
        client,
        app_id,
        {"id": None, "email": "typed@example.com", "attrs": {"source": "ad", "plan": "free"}},
    )
    anon_pk = stored_contacts(app)[0]["pk"]
    conversation_id = _add_conversation(app, anon_pk, clock.current)
    identify(
        client, app_id, {"id": "u1", "name": "Ann"}
    )  # existing identified contact, other browser
    clock.advance(minutes=5)
    merged = identify(
        client, app_id, {"id": "u1", "attrs": {"plan": "pro"}}, session=anonymous.json["session"]
    )
    assert merged.status_code == 200
    contact = merged.json["contact"]
    assert contact["email"] == "typed@example.com"  # filled: the identified contact had none
    assert contact["attrs"] == {"plan": "pro", "source": "ad"}  # the payload wins
    assert merged.json["session"] != anonymous.json["session"]
    with app.app_context():
        assert db.session.get(Contact, anon_pk) is None
        moved = db.session.get(Conversation, conversation_id)
        assert db.session.get(Contact, moved.contact_id).external_id == "u1"
    assert _session_contact(app, anonymous.json["session"]) is None


def test_merge_does_not_override_what_the_identified_contact_has(client, app, app_id):
    identify(client, app_id, {"id": "u1", "email": "real@example.com"})
    anonymous = identify(
        client, app_id, {"id": None, "email": "typed@example.com", "name": "Typed"}
    )
    merged = identify(client, app_id, {"id": "u1", "name": None}, session=anonymous.json["session"])
    assert merged.json["contact"]["email"] == "real@example.com"
    assert merged.json["contact"]["name"] is None  # the payload cleared it explicitly


def test_same_contact_keeps_its_session(client, app_id):
    first = identify(client, app_id, {"id": "u1"})
    second = identify(client, app_id, {"id": "u1", "name": "Ann"}, session=first.json["session"])
    assert second.json["session"] == first.json["session"]


def test_user_switch_issues_a_fresh_session_and_kills_the_old_one(client, app, app_id):
    first = identify(client, app_id, {"id": "u1", "email": "one@example.com"})
    second = identify(client, app_id, {"id": "u2"}, session=first.json["session"])
    assert second.status_code == 200
    assert second.json["session"] != first.json["session"]
    assert second.json["contact"]["email"] is None  # nothing of u1 leaks into u2
    assert _session_contact(app, second.json["session"]).external_id == "u2"
    assert _session_contact(app, first.json["session"]) is None
    assert {c["id"] for c in stored_contacts(app)} == {
        "u1",
        "u2",
    }  # no merge between identified users


def test_logout_gives_a_new_anonymous_visitor(client, app, app_id):
    identified = identify(client, app_id, {"id": "u1", "email": "one@example.com"})
    logout = identify(client, app_id, {"id": None}, session=identified.json["session"])
    assert logout.json["session"] != identified.json["session"]
    assert logout.json["contact"]["anonymous"] is True
    assert logout.json["contact"]["email"] is None
    assert _session_contact(app, identified.json["session"]) is None
    assert _session_contact(app, logout.json["session"]).external_id is None


def test_session_from_another_workspace_is_ignored(client, app, app_id):
    other = make_workspace(app)
    foreign = identify(client, other, {"id": None, "email": "x@example.com"})
    response = identify(client, app_id, {"id": "u1"}, session=foreign.json["session"])
    assert response.json["contact"]["email"] is None
    assert (
        _session_contact(app, foreign.json["session"]) is not None
    )  # untouched in its own workspace
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 2


def test_expired_session_is_not_reused(client, app, app_id, clock):
    first = identify(client, app_id, {"id": None})
    clock.advance(days=31)
    second = identify(client, app_id, {"id": None}, session=first.json["session"])
    assert second.json["session"] != first.json["session"]
