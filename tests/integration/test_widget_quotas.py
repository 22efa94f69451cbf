"""Per-visitor quotas (docs/widget-api.md, "Rate limits"): a script holding one session cannot
fill the inbox; a visitor past the hour's allowance gets `429 rate_limited` and nothing is
written, and the allowance comes back as the hour moves on."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from promptify.extensions import db
from promptify.models import Conversation, Message
from tests.factories import identify, make_workspace


@pytest.fixture
def app_id(app):
    app.config.update(CONVERSATIONS_PER_HOUR=2, MESSAGES_PER_HOUR=4)
    return make_workspace(app)


def _session(client, app_id, user="u1") -> str:
    return identify(client, app_id, {"id": user}).json["session"]


def _start(client, app_id, session):
    return client.post(
        f"/widget/v1/apps/{app_id}/conversations",
        json={"body": "Hello"},
        headers={"X-Promptify-Session": session},
    )


def _post(client, app_id, session, conversation_id):
    return client.post(
        f"/widget/v1/apps/{app_id}/conversations/{conversation_id}/messages",
        json={"body": "More"},
        headers={"X-Promptify-Session": session},
    )


def _stored(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Conversation)) or 0,
            db.session.scalar(select(func.count()).select_from(Message)) or 0,
        )


def _assert_limited(response) -> None:
    assert response.status_code == 429, response.json
    assert response.json["error"]["code"] == "rate_limited"
    assert "last hour" in response.json["error"]["message"]


def test_a_visitor_starts_a_bounded_number_of_conversations_per_hour(client, app, app_id, clock):
    session = _session(client, app_id)
    assert [_start(client, app_id, session).status_code for _ in range(2)] == [201, 201]
    before = _stored(app)
    _assert_limited(_start(client, app_id, session))
    assert _stored(app) == before
    clock.advance(minutes=61)
    assert _start(client, app_id, session).status_code == 201


def test_a_visitor_writes_a_bounded_number_of_messages_per_hour(client, app, app_id, clock):
    session = _session(client, app_id)
    conversation_id = _start(client, app_id, session).json["conversation"]["id"]
    assert [_post(client, app_id, session, conversation_id).status_code for _ in range(3)] == [
        201
    ] * 3
    before = _stored(app)
    _assert_limited(_post(client, app_id, session, conversation_id))
    _assert_limited(_start(client, app_id, session))  # a new conversation is a message too
    assert _stored(app) == before
    clock.advance(minutes=61)
    assert _post(client, app_id, session, conversation_id).status_code == 201


def test_the_allowance_is_the_visitors_whatever_session_they_use(client, app, app_id):
    first, second = _session(client, app_id), _session(client, app_id)
    assert first != second
    assert _start(client, app_id, first).status_code == 201
    assert _start(client, app_id, second).status_code == 201
    _assert_limited(_start(client, app_id, first))
    other = _session(client, app_id, user="u2")  # another visitor is not affected
    assert _start(client, app_id, other).status_code == 201
