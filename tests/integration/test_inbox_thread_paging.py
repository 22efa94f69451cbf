"""Bounded threads (docs/operations.md, "The console"): a thread opens on its latest
`THREAD_LIMIT` messages, "Load earlier messages" pages back by message id (htmx, or a plain link
without JavaScript) to the first one, and notes and events show once each, among the messages of
their window; polls are bounded too. On every backend."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event, insert, select

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import Activity, Contact, Conversation, Message, Workspace
from promptify.services.inbox import THREAD_LIMIT
from tests.factories import make_workspace

HX = {"HX-Request": "true"}
MESSAGE = re.compile(r'id="message-(\d+)"')
ACTIVITY = re.compile(r'id="activity-(\d+)"')
ENTRY = re.compile(r'id="(message|activity)-(\d+)"')
EARLIER = re.compile(r'hx-get="(/inbox/\d+/earlier\?before=\d+)"')
POLLER = re.compile(r'hx-get="(/inbox/\d+/poll\?[^"]+)" hx-trigger="([^"]+)"')


@pytest.fixture
def app_id(app: Flask) -> str:
    return make_workspace(app)


@pytest.fixture
def agent(client, login, app_id):  # type: ignore[no-untyped-def]
    login("agent")
    return client


def long_conversation(
    app: Flask, app_id: str, count: int, *, note_every: int = 0, same_instant: bool = False
) -> tuple[int, list[int], list[int]]:
    """A conversation of `count` visitor messages ("message 1" first), one a second (or all at
    one instant), with a note after every `note_every`-th message; returns its id, the message
    ids and the note ids, oldest first."""
    with app.app_context():
        start = app_clock.now() - timedelta(seconds=count + 10)

        def at(i: int):  # type: ignore[no-untyped-def]
            return start if same_instant else start + timedelta(seconds=i)

        workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
        contact = Contact(
            workspace_id=workspace.id,
            external_id="chatty",
            name="Chatty",
            attrs={},
            verified=False,
            first_seen_at=start,
            last_seen_at=at(count),
        )
        db.session.add(contact)
        db.session.flush()
        conversation = Conversation(
            workspace_id=workspace.id,
            contact_id=contact.id,
            status="open",
            preview=f"message {count}",
            created_at=start,
            last_message_at=at(count),
            last_author="contact",
        )
        db.session.add(conversation)
        db.session.flush()
        db.session.execute(
            insert(Message),
            [
                {
                    "conversation_id": conversation.id,
                    "author": "contact",
                    "body": f"message {i}",
                    "verified": False,
                    "created_at": at(i),
                }
                for i in range(1, count + 1)
            ],
        )
        if note_every:
            db.session.execute(
                insert(Activity),
                [
                    {
                        "conversation_id": conversation.id,
                        "kind": "note",
                        "body": f"note after {i}",
                        "created_at": at(i),  # the same instant: it sorts after the message
                    }
                    for i in range(note_every, count + 1, note_every)
                ],
            )
        db.session.commit()
        messages = list(
            db.session.scalars(
                select(Message.id)
                .where(Message.conversation_id == conversation.id)
                .order_by(Message.id)
            )
        )
        notes = list(
            db.session.scalars(
                select(Activity.id)
                .where(Activity.conversation_id == conversation.id)
                .order_by(Activity.id)
            )
        )
        return conversation.id, messages, notes


def entries(html: str) -> list[tuple[str, int]]:
    return [(kind, int(number)) for kind, number in ENTRY.findall(html)]


def walk_back(agent, html: str) -> tuple[list[tuple[str, int]], int]:  # type: ignore[no-untyped-def]
    """Follow "Load earlier messages" as htmx does, from the thread's `html` back to the first
    message; returns every entry, oldest first, and how many pages it took."""
    shown = entries(html)
    pages = 0
    while (control := EARLIER.search(html)) is not None:
        response = agent.get(control.group(1), headers=HX)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        page = entries(html)
        assert 0 < len([e for e in page if e[0] == "message"]) <= THREAD_LIMIT
        shown = page + shown
        pages += 1
    return shown, pages


def test_a_thread_of_5000_messages_shows_the_latest_50_and_pages_back_to_the_first(
    app, app_id, agent
):
    cid, messages, notes = long_conversation(app, app_id, 5000, note_every=7)
    opened = agent.get(f"/inbox/{cid}", headers=HX)
    assert opened.status_code == 200
    html = opened.get_data(as_text=True)
    assert [int(m) for m in MESSAGE.findall(html)] == messages[-THREAD_LIMIT:]
    assert "message 5000" in html and "message 4951" in html and "message 4950<" not in html
    assert html.count("Load earlier messages") == 1
    control = EARLIER.search(html)
    assert control is not None and control.group(1).endswith(f"?before={messages[-THREAD_LIMIT]}")
    # the notes shown are those among the 50 messages: after message 4956, 4963, ... 4998
    assert [int(a) for a in ACTIVITY.findall(html)] == [
        n for n, i in zip(notes, range(7, 5001, 7), strict=True) if i >= 4951
    ]

    shown, pages = walk_back(agent, html)
    assert pages == 5000 // THREAD_LIMIT - 1
    assert [i for kind, i in shown if kind == "message"] == messages  # all, in order, once each
    assert [i for kind, i in shown if kind == "activity"] == notes
    # each note right after the message it follows
    position = {entry: index for index, entry in enumerate(shown)}
    for note, after in zip(notes, range(7, 5001, 7), strict=True):
        assert position[("activity", note)] == position[("message", messages[after - 1])] + 1


def test_messages_of_one_instant_page_back_without_repeats(app, app_id, agent):
    """Ids page, not times: a burst of messages with one timestamp still walks back exactly."""
    cid, messages, notes = long_conversation(
        app, app_id, 3 * THREAD_LIMIT + 7, note_every=THREAD_LIMIT, same_instant=True
    )
    html = agent.get(f"/inbox/{cid}", headers=HX).get_data(as_text=True)
    shown, pages = walk_back(agent, html)
    assert pages == 3
    assert [i for kind, i in shown if kind == "message"] == messages
    assert sorted(i for kind, i in shown if kind == "activity") == notes


def test_a_short_thread_has_no_control(app, app_id, agent):
    cid, messages, _ = long_conversation(app, app_id, THREAD_LIMIT)
    html = agent.get(f"/inbox/{cid}").get_data(as_text=True)
    assert [int(m) for m in MESSAGE.findall(html)] == messages
    assert "Load earlier messages" not in html and 'id="new-messages"' in html


def test_without_javascript_the_link_opens_the_earlier_page(app, app_id, agent):
    cid, messages, _ = long_conversation(app, app_id, 2 * THREAD_LIMIT + 1)
    html = agent.get(f"/inbox/{cid}").get_data(as_text=True)
    link = re.search(r'<a href="(/inbox/\d+/earlier\?before=\d+)"', html)
    assert link is not None

    page = agent.get(link.group(1))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<html" in body and 'id="conversation-list"' in body
    assert [int(m) for m in MESSAGE.findall(body)] == messages[1 : THREAD_LIMIT + 1]
    assert "Load earlier messages" in body and "Show the latest messages" in body
    assert 'id="new-messages"' not in body  # an earlier page does not poll

    first = re.search(r'<a href="(/inbox/\d+/earlier\?before=\d+)"', body)
    assert first is not None
    last_page = agent.get(first.group(1)).get_data(as_text=True)
    assert [int(m) for m in MESSAGE.findall(last_page)] == messages[:1]
    assert "Load earlier messages" not in last_page


def test_loading_earlier_pages_writes_nothing_and_costs_the_same_at_any_depth(app, app_id, agent):
    cid, messages, _ = long_conversation(app, app_id, 1000, note_every=10)
    counts = []
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    for before in (messages[-THREAD_LIMIT], messages[500], messages[THREAD_LIMIT]):
        statements.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            response = agent.get(f"/inbox/{cid}/earlier?before={before}", headers=HX)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert response.status_code == 200
        assert not [s for s in statements if re.match(r"\s*(INSERT|UPDATE|DELETE)", s, re.I)]
        counts.append(len(statements))
    assert len(set(counts)) == 1, counts


@pytest.mark.parametrize("before", ["", "abc", "0", "-1", "2147483648", "٣", "1.5"])
def test_an_earlier_page_needs_a_message_id(app, app_id, agent, before):
    cid, _, _ = long_conversation(app, app_id, 3)
    assert agent.get(f"/inbox/{cid}/earlier?before={before}", headers=HX).status_code == 400


def test_an_earlier_page_of_another_workspace_is_404(app, agent):
    other = make_workspace(app)  # newer: the console shows the first one
    cid, messages, _ = long_conversation(app, other, 60)
    assert agent.get(f"/inbox/{cid}/earlier?before={messages[-1]}").status_code == 404
    assert agent.get(f"/inbox/99999999999/earlier?before={messages[-1]}").status_code == 404


def test_a_poll_far_behind_catches_up_page_by_page(app, app_id, agent):
    """A poll answers at most THREAD_LIMIT messages, and its poller asks for the rest at once."""
    count = 2 * THREAD_LIMIT + 20
    cid, messages, notes = long_conversation(app, app_id, count, note_every=30)
    url = f"/inbox/{cid}/poll?after=0&after_activity=0"
    shown: list[tuple[str, int]] = []
    for _ in range(10):
        response = agent.get(url, headers=HX)
        if response.status_code == 204:
            break
        html = response.get_data(as_text=True)
        page = entries(html)
        assert len([e for e in page if e[0] == "message"]) <= THREAD_LIMIT
        shown += page
        poller = POLLER.search(html)
        assert poller is not None
        url = poller.group(1).replace("&amp;", "&")
        catching_up = poller.group(2).startswith("load, ")
        assert catching_up == (len([e for e in shown if e[0] == "message"]) < count)
    assert [i for kind, i in shown if kind == "message"] == messages
    assert [i for kind, i in shown if kind == "activity"] == notes
    position = {entry: index for index, entry in enumerate(shown)}
    for note, after in zip(notes, range(30, count + 1, 30), strict=True):
        assert position[("activity", note)] == position[("message", messages[after - 1])] + 1


def test_the_latest_window_polls_after_the_notes_of_earlier_pages(app, app_id, agent):
    """Notes before the window belong to earlier pages: the thread's poller never brings them
    back at the bottom."""
    cid, messages, notes = long_conversation(app, app_id, 3 * THREAD_LIMIT, note_every=20)
    html = agent.get(f"/inbox/{cid}", headers=HX).get_data(as_text=True)
    poller = POLLER.search(html)
    assert poller is not None
    assert f"after_activity={notes[-1]}" in poller.group(1)
    assert agent.get(poller.group(1).replace("&amp;", "&"), headers=HX).status_code == 204
