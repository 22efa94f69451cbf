"""Conversations and the widget script, through the HTTP API, on every backend."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, select

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import Contact, Conversation, Message, Status
from promptify.services import conversations, operators, teamwork
from tests.factories import add_key, identify, make_private_key, make_workspace, sign

ORIGIN = "https://app.acme.test"
PAGE = "https://app.acme.test/billing?tab=invoices"
SCRIPT = Path(__file__).resolve().parents[2] / "promptify" / "static" / "widget" / "promptify.js"


@pytest.fixture
def app_id(app):
    return make_workspace(app, origins=[ORIGIN])


# --- helpers: plain functions over the HTTP API -----------------------------------------------


def _headers(session: str | None, **extra: str) -> dict[str, str]:
    headers = dict(extra)
    if session is not None:
        headers["X-Promptify-Session"] = session
    return headers


def _session(client, app_id, body=None) -> str:
    response = identify(client, app_id, {"id": None} if body is None else body)
    assert response.status_code == 200, response.json
    return response.json["session"]


def _list(client, app_id, session, **headers):
    return client.get(
        f"/widget/v1/apps/{app_id}/conversations", headers=_headers(session, **headers)
    )


def _json(document) -> bytes:
    # as browsers send it: UTF-8, non-ASCII unescaped (10,000 escaped emoji would pass 64 KiB)
    return json.dumps(document, ensure_ascii=False).encode()


def _start(client, app_id, session, body="Hello, I need help", **headers):
    return client.post(
        f"/widget/v1/apps/{app_id}/conversations",
        data=_json({"body": body}),
        content_type="application/json",
        headers=_headers(session, **headers),
    )


def _messages(client, app_id, session, conversation_id, after=None, **headers):
    query = "" if after is None else f"?after={after}"
    return client.get(
        f"/widget/v1/apps/{app_id}/conversations/{conversation_id}/messages{query}",
        headers=_headers(session, **headers),
    )


def _post(client, app_id, session, conversation_id, body="And another thing", **headers):
    return client.post(
        f"/widget/v1/apps/{app_id}/conversations/{conversation_id}/messages",
        data=_json({"body": body}),
        content_type="application/json",
        headers=_headers(session, **headers),
    )


def _assert_error(response, status, code, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json["error"]["code"] == code
    assert response.json["error"]["field"] == field
    assert response.json["error"]["message"]


def _agent_reply(app, conversation_id: int, body: str, name: str = "Sam Agent") -> None:
    with app.app_context():
        operator = operators.create_operator(
            f"{name.split()[0].lower()}@support.test",
            name,
            "agent",
            "a long password",
            now=app_clock.now(),
        )
        conversation = db.session.get(Conversation, conversation_id)
        teamwork.reply(conversation, operator, body, now=app_clock.now())


def _stored_messages(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (m.author, m.body) for m in db.session.scalars(select(Message).order_by(Message.id))
        ]


@contextmanager
def _contact_updates(app):
    """Collect the UPDATE statements issued against `contact` while the block runs, but for the
    list-version bump every new message makes (the widget's ETag)."""
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE CONTACT"):
            if "SET widget_version=(contact.widget_version + " not in statement:
                seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


# --- session scoping ------------------------------------------------------------------------


def test_no_session_is_session_required(client, app_id):
    _assert_error(_list(client, app_id, None), 401, "session_required")
    _assert_error(_start(client, app_id, None), 401, "session_required")
    _assert_error(_messages(client, app_id, None, 1), 401, "session_required")
    _assert_error(_post(client, app_id, None, 1), 401, "session_required")


def test_unknown_session_is_session_required(client, app_id):
    _session(client, app_id)
    _assert_error(_list(client, app_id, "not-a-session"), 401, "session_required")
    _assert_error(_start(client, app_id, "x" * 5000), 401, "session_required")


def test_session_of_another_workspace_is_session_required(client, app, app_id):
    other = make_workspace(app)
    foreign = _session(client, other)
    assert _start(client, other, foreign).status_code == 201
    _assert_error(_list(client, app_id, foreign), 401, "session_required")
    _assert_error(_start(client, app_id, foreign), 401, "session_required")


def test_expired_session_is_session_required(client, app, app_id, clock):
    session = _session(client, app_id)
    clock.advance(seconds=app.config["SESSION_IDLE_SECONDS"] + 1)
    _assert_error(_list(client, app_id, session), 401, "session_required")


def test_using_the_session_keeps_it_alive(client, app, app_id, clock):
    session = _session(client, app_id)
    idle = app.config["SESSION_IDLE_SECONDS"]
    for _ in range(3):
        clock.advance(seconds=idle - 60)
        assert _list(client, app_id, session).status_code == 200


def test_conversation_of_another_contact_is_not_found(client, app_id):
    mine = _session(client, app_id)
    theirs = _session(client, app_id)
    conversation_id = _start(client, app_id, theirs).json["conversation"]["id"]
    _assert_error(_messages(client, app_id, mine, conversation_id), 404, "not_found")
    _assert_error(_post(client, app_id, mine, conversation_id), 404, "not_found")
    _assert_error(_messages(client, app_id, mine, 2**63), 404, "not_found")
    _assert_error(_post(client, app_id, mine, 99_999_999_999_999_999_999), 404, "not_found")
    assert _list(client, app_id, mine).json == {"conversations": []}


# --- create, list, post, poll ---------------------------------------------------------------


def test_start_list_post_and_poll(client, app, app_id, clock):
    session = _session(client, app_id, {"id": "user-1", "name": "Jane Doe"})
    started = _start(client, app_id, session, "Hello\nI cannot log in <b>")
    assert started.status_code == 201, started.json
    conversation, first = started.json["conversation"], started.json["message"]
    assert isinstance(conversation["id"], int) and isinstance(first["id"], int)
    assert conversation["status"] == "open"
    assert conversation["preview"] == "Hello\nI cannot log in <b>"
    assert conversation["lastMessageAt"] == first["createdAt"]
    assert first["createdAt"] == clock.current.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert first == {
        "id": first["id"],
        "author": "contact",
        "authorName": "Jane Doe",
        "body": "Hello\nI cannot log in <b>",
        "createdAt": first["createdAt"],
        "verified": False,
    }

    clock.advance(seconds=30)
    _agent_reply(app, conversation["id"], "Which browser are you using?")
    polled = _messages(client, app_id, session, conversation["id"], after=first["id"])
    assert polled.status_code == 200
    [reply] = polled.json["messages"]
    assert (reply["author"], reply["authorName"], reply["body"], reply["verified"]) == (
        "agent",
        "Sam Agent",
        "Which browser are you using?",
        False,
    )
    assert _messages(client, app_id, session, conversation["id"], after=reply["id"]).json == {
        "messages": []
    }

    clock.advance(seconds=30)
    posted = _post(client, app_id, session, conversation["id"], "Firefox")
    assert posted.status_code == 201
    assert (
        posted.json["message"]["author"] == "contact"
        and posted.json["message"]["body"] == "Firefox"
    )
    everything = _messages(client, app_id, session, conversation["id"]).json["messages"]
    assert [m["body"] for m in everything] == [
        "Hello\nI cannot log in <b>",
        "Which browser are you using?",
        "Firefox",
    ]
    assert [m["id"] for m in everything] == sorted(m["id"] for m in everything)

    [listed] = _list(client, app_id, session).json["conversations"]
    assert listed == {
        "id": conversation["id"],
        "status": "open",
        "lastMessageAt": posted.json["message"]["createdAt"],
        "preview": "Firefox",
        "unread": 1,  # the agent's question: the widget never said it showed it
    }


def test_list_is_newest_activity_first(client, app_id, clock):
    session = _session(client, app_id)
    first = _start(client, app_id, session, "first").json["conversation"]["id"]
    clock.advance(seconds=10)
    second = _start(client, app_id, session, "second").json["conversation"]["id"]
    assert [c["id"] for c in _list(client, app_id, session).json["conversations"]] == [
        second,
        first,
    ]
    clock.advance(seconds=10)
    _post(client, app_id, session, first, "bump")
    listed = _list(client, app_id, session).json["conversations"]
    assert [(c["id"], c["preview"]) for c in listed] == [(first, "bump"), (second, "second")]


def test_preview_is_the_first_200_characters_of_the_last_message(client, app_id):
    session = _session(client, app_id)
    _start(client, app_id, session, "é" * 150 + "x" * 300)
    [listed] = _list(client, app_id, session).json["conversations"]
    assert listed["preview"] == "é" * 150 + "x" * 50


def test_writing_to_a_closed_conversation_reopens_it(client, app, app_id):
    session = _session(client, app_id)
    conversation_id = _start(client, app_id, session).json["conversation"]["id"]
    with app.app_context():
        operator = operators.create_operator(
            "closer@support.test", "Cleo Closer", "agent", "a long password", now=app_clock.now()
        )
        teamwork.set_status(
            db.session.get(Conversation, conversation_id),
            Status.CLOSED,
            operator=operator,
            now=app_clock.now(),
        )
    assert _list(client, app_id, session).json["conversations"][0]["status"] == "closed"
    _post(client, app_id, session, conversation_id, "Still broken")
    assert _list(client, app_id, session).json["conversations"][0]["status"] == "open"


def test_after_must_be_a_message_id(client, app_id):
    session = _session(client, app_id)
    conversation_id = _start(client, app_id, session).json["conversation"]["id"]
    for bad in ("abc", "-1", "1.5", "9" * 40, ""):
        response = _messages(client, app_id, session, conversation_id, after=bad)
        _assert_error(response, 422, "invalid_field", "after")
    assert _messages(client, app_id, session, conversation_id, after="9" * 18).json == {
        "messages": []
    }
    assert len(_messages(client, app_id, session, conversation_id, after=0).json["messages"]) == 1


# --- bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["a", "x" * 10_000, "😀" * 10_000, "line\n\ttabbed"])
def test_bodies_of_1_to_10000_characters_are_accepted(client, app, app_id, body):
    session = _session(client, app_id)
    started = _start(client, app_id, session, body)
    assert started.status_code == 201, started.json
    assert started.json["message"]["body"] == body
    posted = _post(client, app_id, session, started.json["conversation"]["id"], body)
    assert posted.status_code == 201
    assert _stored_messages(app) == [("contact", body), ("contact", body)]


@pytest.mark.parametrize(
    "body",
    ["", "   \n ", "x" * 10_001, "nul\x00byte", None, 42, ["hi"], {"text": "hi"}],
    ids=["empty", "blank", "10001", "nul", "null", "number", "array", "object"],
)
def test_bad_bodies_are_refused_and_nothing_is_written(client, app, app_id, body):
    session = _session(client, app_id)
    _assert_error(_start(client, app_id, session, body), 422, "invalid_field", "body")
    conversation_id = _start(client, app_id, session, "fine").json["conversation"]["id"]
    _assert_error(
        _post(client, app_id, session, conversation_id, body), 422, "invalid_field", "body"
    )
    assert _stored_messages(app) == [("contact", "fine")]
    with app.app_context():
        assert len(db.session.scalars(select(Conversation)).all()) == 1


def test_body_object_is_strict(client, app, app_id):
    session = _session(client, app_id)
    url = f"/widget/v1/apps/{app_id}/conversations"
    response = client.post(url, json={"body": "hi", "Body": "typo"}, headers=_headers(session))
    _assert_error(response, 422, "invalid_field", "Body")
    _assert_error(
        client.post(url, json={}, headers=_headers(session)), 422, "invalid_field", "body"
    )
    response = client.post(url, data="hi", content_type="text/plain", headers=_headers(session))
    _assert_error(response, 415, "unsupported_media_type")
    response = client.post(
        url, data=b"[1]", content_type="application/json", headers=_headers(session)
    )
    _assert_error(response, 400, "invalid_json")
    assert _stored_messages(app) == []


def test_agent_reply_shares_the_body_rules(app, client, app_id):
    session = _session(client, app_id)
    conversation_id = _start(client, app_id, session).json["conversation"]["id"]
    with pytest.raises(conversations.ApiError):
        _agent_reply(app, conversation_id, "x" * 10_001)
    assert _stored_messages(app) == [("contact", "Hello, I need help")]


# --- verified flag -------------------------------------------------------------------------


def test_messages_record_whether_the_session_was_verified(client, app, app_id, clock):
    key = make_private_key("Ed25519")
    add_key(app, app_id, key)
    token = sign(
        key, {"id": "signed-user", "name": "Vera", "exp": int(clock.current.timestamp()) + 300}
    )
    signed = _session(client, app_id, {"jwt": token})
    unsigned = _session(client, app_id, {"id": "plain-user", "name": "Uma"})
    anonymous = _session(client, app_id)

    started = _start(client, app_id, signed, "from a verified session")
    assert started.json["message"]["verified"] is True
    posted = _post(client, app_id, signed, started.json["conversation"]["id"], "again")
    assert posted.json["message"]["verified"] is True
    assert _start(client, app_id, unsigned).json["message"]["verified"] is False
    assert _start(client, app_id, anonymous).json["message"]["verified"] is False
    with app.app_context():
        stored = db.session.scalars(select(Message).order_by(Message.id))
        assert [m.verified for m in stored] == [True, True, False, False]


def test_anonymous_messages_have_no_author_name(client, app_id):
    session = _session(client, app_id)
    assert _start(client, app_id, session).json["message"]["authorName"] is None
    named = _session(client, app_id, {"id": None, "name": "Visitor Vic"})
    assert _start(client, app_id, named).json["message"]["authorName"] == "Visitor Vic"


# --- identity changes ----------------------------------------------------------------------


def test_anonymous_conversations_move_to_the_identified_contact(client, app, app_id):
    anonymous = _session(client, app_id)
    conversation_id = _start(client, app_id, anonymous, "asked before logging in").json[
        "conversation"
    ]["id"]
    merged = identify(client, app_id, {"id": "user-9", "name": "Nina"}, session=anonymous)
    assert merged.status_code == 200
    session = merged.json["session"]
    assert [c["id"] for c in _list(client, app_id, session).json["conversations"]] == [
        conversation_id
    ]
    [message] = _messages(client, app_id, session, conversation_id).json["messages"]
    assert (message["body"], message["authorName"]) == ("asked before logging in", "Nina")
    assert _post(client, app_id, session, conversation_id, "now logged in").status_code == 201
    _assert_error(_list(client, app_id, anonymous), 401, "session_required")
    _assert_error(_messages(client, app_id, anonymous, conversation_id), 401, "session_required")


def test_user_switch_and_logout_show_nothing_of_the_previous_user(client, app, app_id):
    first = _session(client, app_id, {"id": "alice", "name": "Alice"})
    alice_conversation = _start(client, app_id, first, "Alice's private question").json[
        "conversation"
    ]["id"]

    switched = identify(client, app_id, {"id": "bob"}, session=first)
    bob = switched.json["session"]
    assert _list(client, app_id, bob).json == {"conversations": []}
    _assert_error(_messages(client, app_id, bob, alice_conversation), 404, "not_found")
    _assert_error(_post(client, app_id, bob, alice_conversation), 404, "not_found")
    _assert_error(_list(client, app_id, first), 401, "session_required")

    bob_conversation = _start(client, app_id, bob, "Bob's question").json["conversation"]["id"]
    logged_out = identify(client, app_id, {"id": None}, session=bob).json["session"]
    assert logged_out != bob
    assert _list(client, app_id, logged_out).json == {"conversations": []}
    _assert_error(_messages(client, app_id, logged_out, bob_conversation), 404, "not_found")
    _assert_error(_list(client, app_id, bob), 401, "session_required")

    again = _session(client, app_id, {"id": "alice"})
    assert [c["id"] for c in _list(client, app_id, again).json["conversations"]] == [
        alice_conversation
    ]


# --- CORS ----------------------------------------------------------------------------------


def test_conversation_routes_send_cors_for_allowed_origins(client, app_id):
    session = _session(client, app_id)
    started = _start(client, app_id, session, Origin=ORIGIN)
    assert started.status_code == 201
    conversation_id = started.json["conversation"]["id"]
    for response in (
        _list(client, app_id, session, Origin=ORIGIN),
        _messages(client, app_id, session, conversation_id, Origin=ORIGIN),
        _post(client, app_id, session, conversation_id, Origin=ORIGIN),
        started,
    ):
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert response.headers["Cache-Control"] == "no-store"
        assert "Origin" in response.headers["Vary"]
    error = _list(client, app_id, None, Origin=ORIGIN)
    assert error.status_code == 401 and error.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_preflight_allows_the_session_and_page_url_headers(client, app_id):
    for path in ("conversations", "conversations/1/messages"):
        response = client.options(
            f"/widget/v1/apps/{app_id}/{path}",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-promptify-session, x-promptify-page-url",
            },
        )
        assert response.status_code == 204
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        allowed = response.headers["Access-Control-Allow-Headers"]
        assert "X-Promptify-Session" in allowed and "X-Promptify-Page-Url" in allowed


def test_other_origins_are_refused(client, app_id):
    session = _session(client, app_id)
    evil = "https://evil.test"
    response = _list(client, app_id, session, Origin=evil)
    _assert_error(response, 403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in response.headers
    _assert_error(_start(client, app_id, session, Origin=evil), 403, "origin_not_allowed")
    preflight = client.options(f"/widget/v1/apps/{app_id}/conversations", headers={"Origin": evil})
    assert preflight.status_code == 403


# --- page URL ------------------------------------------------------------------------------


def _last_page_url(app) -> list[str | None]:
    with app.app_context():
        return [c.last_page_url for c in db.session.scalars(select(Contact).order_by(Contact.id))]


def test_page_url_is_stored_from_identify_and_message_posts(client, app, app_id):
    first = identify(client, app_id, {"id": "u1"}, **{"X-Promptify-Page-Url": PAGE})
    session = first.json["session"]
    assert _last_page_url(app) == [PAGE]
    started = _start(client, app_id, session, **{"X-Promptify-Page-Url": "http://app.acme.test/a"})
    conversation_id = started.json["conversation"]["id"]
    assert _last_page_url(app) == ["http://app.acme.test/a"]
    _post(
        client,
        app_id,
        session,
        conversation_id,
        **{"X-Promptify-Page-Url": "https://app.acme.test/b"},
    )
    assert _last_page_url(app) == ["https://app.acme.test/b"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://files.test/x",
        "/relative/path",
        "https://",
        "not a url",
        "https://app.acme.test/" + "x" * 2048,
        "https://app.acme.test/\x7f",
    ],
    ids=["javascript", "ftp", "relative", "no-host", "text", "too-long", "control"],
)
def test_other_page_urls_are_ignored_not_refused(client, app, app_id, url):
    session = _session(client, app_id, {"id": "u1"})
    response = _start(client, app_id, session, **{"X-Promptify-Page-Url": url})
    assert response.status_code == 201
    again = identify(client, app_id, {"id": "u1"}, session=session, **{"X-Promptify-Page-Url": url})
    assert again.status_code == 200
    assert _last_page_url(app) == [None]


def test_an_unchanged_page_url_writes_nothing(client, app, app_id, clock):
    page = {"X-Promptify-Page-Url": PAGE}
    session = identify(client, app_id, {"id": "u1", "name": "Ann"}, **page).json["session"]
    conversation_id = _start(client, app_id, session, **page).json["conversation"]["id"]
    clock.advance(seconds=5)  # inside the last-seen throttle
    with _contact_updates(app) as updates:
        again = identify(client, app_id, {"id": "u1", "name": "Ann"}, session=session, **page)
        assert again.status_code == 200
        assert _post(client, app_id, session, conversation_id, **page).status_code == 201
        assert _list(client, app_id, session).status_code == 200
    assert updates == []
    with _contact_updates(app) as updates:
        _post(
            client, app_id, session, conversation_id, **{"X-Promptify-Page-Url": PAGE + "&next=1"}
        )
    assert len(updates) == 1
    assert _last_page_url(app) == [PAGE + "&next=1"]


# --- the widget script ---------------------------------------------------------------------


def test_widget_script_is_served_as_javascript_and_cacheable(client):
    response = client.get("/widget/v1/promptify.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age=300" in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.get_data()
    response.close()  # a file response holds the file open until closed
    assert body == SCRIPT.read_bytes()
    assert b"window.promptify" in body


def test_widget_script_is_under_30_kib_and_plain_ascii():
    data = SCRIPT.read_bytes()
    assert len(data) < 30_720, f"promptify.js is {len(data)} bytes; the budget is 30,720 unminified"
    data.decode("ascii")  # no charset surprises whatever the host page's encoding
    assert b"innerHTML" not in data and b"eval(" not in data


def test_widget_script_url_for_the_snippet(app):
    from flask import url_for

    with app.test_request_context():
        assert url_for("widget.script") == "/widget/v1/promptify.js"
