"""What the widget learns while closed (docs/widget-api.md, "Conversations"): unread agent
replies per conversation, read receipts, an ETag that makes the poll nearly free, and nothing of
the operators' notes and events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import Conversation, Operator, Status
from promptify.services import operators, teamwork
from tests.factories import identify, make_workspace

ORIGIN = "https://app.acme.test"


@pytest.fixture
def app_id(app):
    return make_workspace(app, origins=[ORIGIN])


@pytest.fixture
def agent(app) -> int:
    with app.app_context():
        return operators.create_operator(
            "sam@support.test", "Sam Agent", "agent", "a long password", now=app_clock.now()
        ).id


def _headers(session: str, **extra: str) -> dict[str, str]:
    return {"X-Promptify-Session": session, "Origin": ORIGIN, **extra}


def _session(client, app_id: str, body: dict | None = None) -> str:
    response = identify(client, app_id, body or {"id": None})
    assert response.status_code == 200, response.json
    return response.json["session"]


def _start(client, app_id: str, session: str, body: str = "Hello") -> dict:
    response = client.post(
        f"/widget/v1/apps/{app_id}/conversations", json={"body": body}, headers=_headers(session)
    )
    assert response.status_code == 201, response.json
    return response.json


def _list(client, app_id: str, session: str, etag: str | None = None):
    extra = {"If-None-Match": etag} if etag else {}
    return client.get(f"/widget/v1/apps/{app_id}/conversations", headers=_headers(session, **extra))


def _unread(client, app_id: str, session: str) -> dict[int, int]:
    return {c["id"]: c["unread"] for c in _list(client, app_id, session).json["conversations"]}


def _read(client, app_id: str, session: str, conversation_id: int, body):
    return client.post(
        f"/widget/v1/apps/{app_id}/conversations/{conversation_id}/read",
        data=json.dumps(body),
        content_type="application/json",
        headers=_headers(session),
    )


def _messages(client, app_id: str, session: str, conversation_id: int):
    return client.get(
        f"/widget/v1/apps/{app_id}/conversations/{conversation_id}/messages",
        headers=_headers(session),
    )


def _as_agent(app, agent_id: int, conversation_id: int, action) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        operator = db.session.get(Operator, agent_id)
        conversation = db.session.get(Conversation, conversation_id)
        action(conversation, operator)


def _reply(app, agent_id: int, conversation_id: int, body: str = "We are on it") -> None:
    _as_agent(
        app,
        agent_id,
        conversation_id,
        lambda c, o: teamwork.reply(c, o, body, now=app_clock.now()),
    )


# --- unread and read receipts ------------------------------------------------------------------


def test_agent_replies_count_as_unread_until_the_visitor_reads_them(client, app, app_id, agent):
    session = _session(client, app_id)
    conversation = _start(client, app_id, session)["conversation"]
    assert conversation["unread"] == 0
    cid = conversation["id"]
    _reply(app, agent, cid, "First answer")
    _reply(app, agent, cid, "Second answer")
    assert _unread(client, app_id, session) == {cid: 2}

    shown = _messages(client, app_id, session, cid).json["messages"]
    first_reply = next(m for m in shown if m["body"] == "First answer")
    assert (
        _read(client, app_id, session, cid, {"lastMessageId": first_reply["id"]}).status_code == 204
    )
    assert _unread(client, app_id, session) == {cid: 1}
    assert (
        _read(client, app_id, session, cid, {"lastMessageId": shown[-1]["id"]}).status_code == 204
    )
    assert _unread(client, app_id, session) == {cid: 0}


def test_the_read_mark_never_moves_back_and_stops_at_the_newest_message(client, app, app_id, agent):
    session = _session(client, app_id)
    cid = _start(client, app_id, session)["conversation"]["id"]
    _reply(app, agent, cid)
    newest = _messages(client, app_id, session, cid).json["messages"][-1]["id"]
    assert _read(client, app_id, session, cid, {"lastMessageId": newest}).status_code == 204
    assert _read(client, app_id, session, cid, {"lastMessageId": 1}).status_code == 204
    assert _unread(client, app_id, session) == {cid: 0}
    # a mark beyond the newest message does not pre-read the next reply
    assert _read(client, app_id, session, cid, {"lastMessageId": 2**31 - 1}).status_code == 204
    _reply(app, agent, cid, "A later answer")
    assert _unread(client, app_id, session) == {cid: 1}


def test_the_visitors_own_messages_are_never_unread(client, app, app_id):
    session = _session(client, app_id)
    cid = _start(client, app_id, session)["conversation"]["id"]
    client.post(
        f"/widget/v1/apps/{app_id}/conversations/{cid}/messages",
        json={"body": "More detail"},
        headers=_headers(session),
    )
    assert _unread(client, app_id, session) == {cid: 0}


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "lastMessageId"),
        ({"lastMessageId": 0}, "lastMessageId"),
        ({"lastMessageId": -1}, "lastMessageId"),
        ({"lastMessageId": "5"}, "lastMessageId"),
        ({"lastMessageId": 5.0}, "lastMessageId"),
        ({"lastMessageId": True}, "lastMessageId"),
        ({"lastMessageId": None}, "lastMessageId"),
        ({"lastMessageId": 2**31}, "lastMessageId"),
        ({"lastMessageId": 1, "extra": 1}, "extra"),
    ],
)
def test_bad_read_receipts_are_refused_with_the_field(client, app_id, body, field):
    session = _session(client, app_id)
    cid = _start(client, app_id, session)["conversation"]["id"]
    response = _read(client, app_id, session, cid, body)
    assert response.status_code == 422
    assert response.json["error"] == {
        "code": "invalid_field",
        "message": response.json["error"]["message"],
        "field": field,
    }


def test_read_receipts_need_the_session_and_stay_within_the_contact(client, app, app_id, agent):
    owner = _session(client, app_id, {"id": "owner"})
    cid = _start(client, app_id, owner)["conversation"]["id"]
    _reply(app, agent, cid)
    stranger = _session(client, app_id, {"id": "stranger"})
    refused = _read(client, app_id, stranger, cid, {"lastMessageId": 2**31 - 1})
    assert refused.status_code == 404 and refused.json["error"]["code"] == "not_found"
    missing = client.post(
        f"/widget/v1/apps/{app_id}/conversations/{cid}/read",
        json={"lastMessageId": 1},
        headers={"Origin": ORIGIN},
    )
    assert missing.status_code == 401 and missing.json["error"]["code"] == "session_required"
    assert _unread(client, app_id, owner) == {cid: 1}  # nobody else's receipt counted


# --- ETag and 304 ------------------------------------------------------------------------------


@contextmanager
def _statements(app) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_an_unchanged_list_answers_304_from_the_session_lookup(client, app, app_id, clock):
    session = _session(client, app_id)
    _start(client, app_id, session)
    first = _list(client, app_id, session)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag
    assert "ETag" in first.headers["Access-Control-Expose-Headers"]
    clock.advance(seconds=5)  # inside the last-use throttle: nothing to write
    with _statements(app) as statements:
        unchanged = _list(client, app_id, session, etag)
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert unchanged.headers["ETag"] == etag
    assert not any(
        s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")) for s in statements
    )
    # the workspace by app id, then the session with its contact and key: both by unique index
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2, statements


def test_every_change_the_list_shows_changes_the_etag(client, app, app_id, agent):
    session = _session(client, app_id, {"id": "u1"})
    cid = _start(client, app_id, session)["conversation"]["id"]
    seen = {_list(client, app_id, session).headers["ETag"]}

    def changed() -> None:
        response = _list(client, app_id, session, etag=",".join(seen))
        assert response.status_code == 200, "the list changed but the poll said 304"
        seen.add(response.headers["ETag"])

    _reply(app, agent, cid)
    changed()
    newest = _messages(client, app_id, session, cid).json["messages"][-1]["id"]
    _read(client, app_id, session, cid, {"lastMessageId": newest})
    changed()
    _as_agent(
        app,
        agent,
        cid,
        lambda c, o: teamwork.set_status(c, Status.CLOSED, operator=o, now=app_clock.now()),
    )
    changed()
    client.post(
        f"/widget/v1/apps/{app_id}/conversations/{cid}/messages",
        json={"body": "Still there?"},
        headers=_headers(session),
    )
    changed()
    _start(client, app_id, session, "Another question")
    changed()
    other = _session(client, app_id, {"id": "u2"})
    assert _list(client, app_id, other, etag=",".join(seen)).status_code == 200


def test_a_merged_anonymous_visitors_conversations_change_the_etag(client, app, app_id):
    known = _session(client, app_id, {"id": "u1"})
    _start(client, app_id, known, "Signed in")
    etag = _list(client, app_id, known).headers["ETag"]
    anonymous = _session(client, app_id)
    _start(client, app_id, anonymous, "Before signing in")
    merged = identify(client, app_id, {"id": "u1"}, session=anonymous).json["session"]
    response = _list(client, app_id, merged, etag)
    assert response.status_code == 200
    assert len(response.json["conversations"]) == 2


# --- notes and events stay in the console ------------------------------------------------------


def test_notes_and_events_never_reach_the_widget(client, app, app_id, agent):
    session = _session(client, app_id, {"id": "u1"})
    cid = _start(client, app_id, session)["conversation"]["id"]
    secret = "Private: refund approved by finance, do not tell yet"

    def teamwork_happens(conversation, operator) -> None:  # type: ignore[no-untyped-def]
        now = app_clock.now()
        teamwork.add_note(conversation, operator, secret, now=now)
        teamwork.assign(conversation, operator.id, operator=operator, now=now)
        teamwork.assign(conversation, None, operator=operator, now=now)
        teamwork.set_status(conversation, Status.CLOSED, operator=operator, now=now)
        teamwork.set_status(conversation, Status.OPEN, operator=operator, now=now)

    _as_agent(app, agent, cid, teamwork_happens)
    responses = [
        _list(client, app_id, session),
        _messages(client, app_id, session, cid),
        client.get(
            f"/widget/v1/apps/{app_id}/conversations/{cid}/messages?after=0",
            headers=_headers(session),
        ),
        identify(client, app_id, {"id": "u1"}, session=session),
    ]
    for response in responses:
        text = response.get_data(as_text=True)
        assert secret not in text and "refund" not in text
        assert "assigned" not in text and "Sam Agent" not in text
    messages = responses[1].json["messages"]
    assert [m["author"] for m in messages] == ["contact"]
    assert responses[0].json["conversations"][0]["preview"] == "Hello"
