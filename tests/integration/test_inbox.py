"""The inbox and its details side panel: htmx fragments vs full pages, filters, search, panel
content, escaping, and a fixed number of SQL statements whatever the number of rows."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event

from promptify.extensions import db
from tests.factories import identify, make_conversation, make_workspace

HX = {"HX-Request": "true"}


@pytest.fixture
def app_id(app):
    return make_workspace(app)


@contextlib.contextmanager
def count_statements(app):
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_list_is_newest_first(client, app, app_id, login):
    login("agent")
    make_conversation(
        app, app_id, external_id="old", name="Old Olga", messages=("first",), at_offset_seconds=-60
    )
    make_conversation(app, app_id, external_id="new", name="New Nina", messages=("second",))
    html = client.get("/inbox").get_data(as_text=True)
    assert html.index("New Nina") < html.index("Old Olga")


def test_filters_and_search(client, app, app_id, login):
    login("agent")
    identify(
        client,
        app_id,
        {
            "id": "acme-user",
            "name": "Ann",
            "email": "ann@example.com",
            "organizations": [{"id": "o1", "name": "Acme Corp"}],
        },
    )
    make_conversation(app, app_id, external_id="acme-user", messages=("About Acme",))
    make_conversation(
        app, app_id, external_id="bob", name="Bob", messages=("Closed one",), status="closed"
    )
    assert "About Acme" in client.get("/inbox?status=open").get_data(as_text=True)
    assert "Closed one" not in client.get("/inbox?status=open").get_data(as_text=True)
    assert "Closed one" in client.get("/inbox?status=closed").get_data(as_text=True)
    for q in ["Ann", "ann@example", "acme-user", "Acme Corp"]:
        page = client.get("/inbox", query_string={"q": q, "status": "all"}).get_data(as_text=True)
        assert "About Acme" in page and "Closed one" not in page, q
    assert "About Acme" not in client.get("/inbox?status=mine").get_data(as_text=True)


def test_htmx_gets_fragments_and_plain_requests_full_pages(client, app, app_id, login):
    login("agent")
    cid = make_conversation(app, app_id, name="Frag")
    for path in ["/inbox", f"/inbox/{cid}", "/contacts", "/organizations"]:
        full = client.get(path)
        fragment = client.get(path, headers=HX)
        assert "<html" in full.get_data(as_text=True), path
        assert "<html" not in fragment.get_data(as_text=True), path
        assert "HX-Request" in fragment.headers["Vary"], path
    assert 'id="details-panel"' in client.get(f"/inbox/{cid}", headers=HX).get_data(as_text=True)
    assert 'id="conversation-list"' in client.get(f"/inbox/{cid}").get_data(as_text=True)


def test_panel_shows_verified_user_with_attrs_and_organizations(client, app, app_id, login):
    from tests.factories import add_key, make_private_key, sign

    key = make_private_key("Ed25519")
    add_key(app, app_id, key)
    import time

    token = sign(
        key,
        {
            "id": "user-123",
            "exp": int(time.time()) + 300,
            "name": "Jane Doe",
            "email": "jane@example.com",
            "avatarUrl": "https://example.com/avatar.jpg",
            "attrs": {"plan": "pro", "active": True},
            "organizations": [
                {"id": "org-456", "name": "Acme Corp", "attrs": {"industry": "SaaS"}}
            ],
        },
    )
    assert identify(client, app_id, {"jwt": token}).status_code == 200
    cid = make_conversation(
        app, app_id, external_id="user-123", verified=True, messages=("Hi there",)
    )
    make_conversation(
        app, app_id, external_id="user-123", messages=("Earlier question",), at_offset_seconds=-30
    )
    login("agent")
    panel = client.get(f"/inbox/{cid}", headers=HX).get_data(as_text=True)
    for text in [
        "Jane Doe",
        "jane@example.com",
        "user-123",
        "Verified",
        "plan",
        "pro",
        "active",
        "true",
        "Acme Corp",
        "industry",
        "SaaS",
        "https://example.com/avatar.jpg",
        "Earlier question",
        "verified session",
    ]:
        assert text in panel, text
    assert "identity was not proven" not in panel


def test_panel_warns_for_unverified_and_shows_anonymous(client, app, app_id, login):
    login("agent")
    unverified = make_conversation(app, app_id, external_id="u1", name="Unsigned Ursula")
    anonymous = make_conversation(app, app_id, external_id=None)
    page = client.get(f"/inbox/{unverified}", headers=HX).get_data(as_text=True)
    assert "Unverified" in page and "identity was not proven" in page and "not verified" in page
    assert "Anonymous" in client.get(f"/inbox/{anonymous}", headers=HX).get_data(as_text=True)


def test_everything_from_the_widget_is_escaped(client, app, app_id, login):
    login("agent")
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    identify(
        client,
        app_id,
        {
            "id": "x",
            "name": evil,
            "attrs": {"note": evil},
            "organizations": [{"id": "o", "name": evil, "attrs": {"k": evil}}],
        },
    )
    cid = make_conversation(app, app_id, external_id="x", messages=(evil,))
    for path in [f"/inbox/{cid}", "/inbox", "/contacts", "/organizations"]:
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;" in html, path


def test_poll_answers_204_then_new_messages_then_286(client, app, app_id, login):
    from promptify.models import Message

    login("agent")
    cid = make_conversation(app, app_id)
    with app.app_context():
        last = db.session.query(Message).filter_by(conversation_id=cid).one().id
    assert client.get(f"/inbox/{cid}/poll?after={last}", headers=HX).status_code == 204
    with app.app_context():
        from promptify import clock

        db.session.add(
            Message(
                conversation_id=cid,
                author="contact",
                body="Are you there?",
                verified=False,
                created_at=clock.now(),
            )
        )
        db.session.commit()
    response = client.get(f"/inbox/{cid}/poll?after={last}", headers=HX)
    assert response.status_code == 200 and "Are you there?" in response.get_data(as_text=True)
    assert 'id="new-messages"' in response.get_data(as_text=True)
    assert client.get("/inbox/999999/poll?after=0", headers=HX).status_code == 286


def test_a_link_to_another_workspaces_conversation_switches_to_that_workspace(
    client, app, app_id, login
):
    """Operators serve every workspace: a link from an email or a notification opens the
    conversation in its own workspace; within a page (htmx) nothing switches behind its back."""
    login("agent")
    other = make_workspace(app)
    cid = make_conversation(app, other, messages=("Only in the other workspace",))
    assert client.get(f"/inbox/{cid}", headers={"HX-Request": "true"}).status_code == 404
    opened = client.get(f"/inbox/{cid}")
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/inbox/{cid}")
    page = client.get(f"/inbox/{cid}").get_data(as_text=True)
    assert "Only in the other workspace" in page and "Switched to the workspace" in page
    assert client.get("/inbox/2147483647").status_code == 404  # nowhere at all


def test_statement_count_does_not_grow_with_rows(client, app, app_id, login):
    login("agent")
    cid = make_conversation(app, app_id, external_id="panel-user", messages=("m1",))
    with count_statements(app) as few:
        client.get("/inbox", headers=HX)
    small_list = len(few)
    for i in range(20):
        make_conversation(app, app_id, external_id=f"user{i}", name=f"User {i}")
    with count_statements(app) as many:
        client.get("/inbox", headers=HX)
    assert len(many) == small_list
    with count_statements(app) as panel_small:
        client.get(f"/inbox/{cid}", headers=HX)
    identify(
        client,
        app_id,
        {
            "id": "panel-user",
            "organizations": [{"id": f"o{i}", "name": f"Org {i}"} for i in range(10)],
        },
    )
    for _ in range(5):
        make_conversation(app, app_id, external_id="panel-user", messages=("a", "b", "c"))
    with count_statements(app) as panel_big:
        client.get(f"/inbox/{cid}", headers=HX)
    assert len(panel_big) == len(panel_small)
    for path in ["/contacts", "/organizations"]:
        with count_statements(app) as listing:
            client.get(path, headers=HX)
        assert len(listing) <= 6, path


def test_directories_search_and_organization_page(client, app, app_id, login):
    login("agent")
    identify(
        client,
        app_id,
        {
            "id": "m1",
            "name": "Mia",
            "organizations": [{"id": "o1", "name": "Acme Corp", "attrs": {"tier": "gold"}}],
        },
    )
    identify(
        client,
        app_id,
        {"id": "m2", "name": "Max", "organizations": [{"id": "o1", "name": "Acme Corp"}]},
    )
    identify(client, app_id, {"id": "z", "name": "Zed"})
    contacts = client.get("/contacts?q=Acme").get_data(as_text=True)
    assert "Mia" in contacts and "Max" in contacts and "Zed" not in contacts
    orgs = client.get("/organizations?q=acme").get_data(as_text=True)
    assert "Acme Corp" in orgs and ">2<" in orgs
    from sqlalchemy import select

    from promptify.models import Organization

    with app.app_context():
        org_id = db.session.scalar(select(Organization.id))
    page = client.get(f"/organizations/{org_id}").get_data(as_text=True)
    assert "Mia" in page and "Max" in page and "tier" in page


def test_contacts_paging_uses_a_cursor(client, app, app_id, login, clock):
    login("agent")
    for i in range(30):
        clock.advance(seconds=1)
        identify(client, app_id, {"id": f"p{i}", "name": f"Person {i:02d}"})
    first = client.get("/contacts").get_data(as_text=True)
    assert "Person 29" in first and "Person 00" not in first and "before=" in first
    import re

    link = re.search(r'href="(/contacts\?[^"]*before=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(link).get_data(as_text=True)
    assert "Person 00" in second and "Person 29" not in second


def test_reply_close_reopen_and_assign_without_reload(client, app, app_id, login, csrf):
    login("agent")
    cid = make_conversation(app, app_id, name="Rita")
    token = csrf()
    assert (
        client.post(f"/inbox/{cid}/reply", data={"body": "On it!"}, headers=HX).status_code == 400
    )  # no CSRF
    reply = client.post(
        f"/inbox/{cid}/reply", data={"body": "On it!", "csrf_token": token}, headers=HX
    )
    assert reply.status_code == 200 and "On it!" in reply.get_data(as_text=True)
    assert reply.headers["HX-Trigger"] == "conversation-updated"
    empty = client.post(f"/inbox/{cid}/reply", data={"body": "", "csrf_token": token}, headers=HX)
    assert empty.status_code == 422 and "Write a reply first." in empty.get_data(as_text=True)
    closed = client.post(
        f"/inbox/{cid}/status", data={"status": "closed", "csrf_token": token}, headers=HX
    )
    assert "Reopen" in closed.get_data(as_text=True)
    assert "Rita" not in client.get("/inbox?status=open").get_data(as_text=True)
    client.post(f"/inbox/{cid}/status", data={"status": "open", "csrf_token": token}, headers=HX)
    mine = client.post(f"/inbox/{cid}/assign", data={"csrf_token": token}, headers=HX)
    assert "assigned to" in mine.get_data(as_text=True)
    assert "Rita" in client.get("/inbox?status=mine").get_data(as_text=True)
    plain = client.post(f"/inbox/{cid}/reply", data={"body": "Plain form", "csrf_token": token})
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/inbox/{cid}")


def test_agent_reply_reaches_the_widget(client, app, app_id, login, csrf):
    visitor = identify(client, app_id, {"id": "w1", "name": "Wanda"})
    session = visitor.json["session"]
    started = client.post(
        f"/widget/v1/apps/{app_id}/conversations",
        json={"body": "Help"},
        headers={"X-Promptify-Session": session},
    )
    assert started.status_code == 201
    cid = started.json["conversation"]["id"]
    login("agent")
    client.post(
        f"/inbox/{cid}/reply", data={"body": "Here to help", "csrf_token": csrf()}, headers=HX
    )
    messages = client.get(
        f"/widget/v1/apps/{app_id}/conversations/{cid}/messages",
        headers={"X-Promptify-Session": session},
    )
    assert [m["body"] for m in messages.json["messages"]] == ["Help", "Here to help"]
    assert messages.json["messages"][1]["author"] == "agent"


def test_reply_with_a_nul_character_is_a_form_error(client, app, app_id, login, csrf):
    login("agent")
    cid = make_conversation(app, app_id)
    response = client.post(
        f"/inbox/{cid}/reply", data={"body": "bad\x00body", "csrf_token": csrf()}, headers=HX
    )
    assert response.status_code == 422
    assert "<html" not in response.get_data(as_text=True) and "NUL" in response.get_data(
        as_text=True
    )


def test_contact_page_links_to_conversations_without_inbox_targets(client, app, app_id, login):
    from sqlalchemy import select

    from promptify.models import Contact

    login("agent")
    make_conversation(app, app_id, external_id="c1", name="Cora", messages=("First",))
    with app.app_context():
        contact_id = db.session.scalar(select(Contact.id).where(Contact.external_id == "c1"))
    page = client.get(f"/contacts/{contact_id}").get_data(as_text=True)
    assert "First" in page and 'href="/inbox/' in page
    assert "#conversation-view" not in page  # that target only exists in the inbox
