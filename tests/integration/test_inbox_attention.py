"""Attention and teamwork in the inbox (docs/operations.md, "The console"): unread per operator,
the count in the navigation and the tab title, who spoke last, the attention poll behind desktop
notifications, assignment, private notes and events, on every backend.

Visitors act through the widget API and operators through the console's HTTP surface, each with
their own client, as in real use; CSRF stays on."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import Activity, Contact, Conversation, OperatorRead
from promptify.models import Operator as OperatorRow
from promptify.services import conversations, operators
from tests.conftest import csrf_token_from
from tests.factories import identify, make_workspace, workspace_id

HX = {"HX-Request": "true"}
VISIBLE = {**HX, "X-Promptify-Visible": "1"}
HIDDEN = {**HX, "X-Promptify-Visible": "0"}
PASSWORD = "a long password"


# --- actors -----------------------------------------------------------------------------------


@dataclass
class Teammate:
    """A signed-in console operator with a client of their own."""

    id: int
    name: str
    client: FlaskClient
    token: str

    def get(self, path: str, **headers: str):  # type: ignore[no-untyped-def]
        return self.client.get(path, headers=headers)

    def page(self, path: str, **headers: str) -> str:
        response = self.client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.status_code)
        return response.get_data(as_text=True)

    def post(self, path: str, data: dict[str, str] | None = None, *, htmx: bool = True):  # type: ignore[no-untyped-def]
        return self.client.post(
            path, data={"csrf_token": self.token, **(data or {})}, headers=HX if htmx else {}
        )

    def unread_ids(self) -> set[int]:
        return unread_rows(self.page("/inbox?status=all", **HX))


def new_operator(app: Flask, name: str, role: str = "agent") -> Teammate:
    email = f"{re.sub(r'[^a-z]', '', name.lower()) or 'op'}-{role}@example.com"
    with app.app_context():
        operator_id = operators.create_operator(email, name, role, PASSWORD, now=app_clock.now()).id
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    token = csrf_token_from(client.get("/inbox").get_data(as_text=True))
    return Teammate(operator_id, name, client, token)


class Visitor:
    """A widget visitor: a session from identify, then the conversations API."""

    def __init__(self, app: Flask, app_id: str, external_id: str, name: str | None) -> None:
        self.client = app.test_client()
        self.app_id = app_id
        user = {"id": external_id} if name is None else {"id": external_id, "name": name}
        response = identify(self.client, app_id, user)
        assert response.status_code == 200, response.json
        self.headers = {"X-Promptify-Session": response.json["session"]}

    def start(self, body: str) -> int:
        response = self.client.post(
            f"/widget/v1/apps/{self.app_id}/conversations",
            json={"body": body},
            headers=self.headers,
        )
        assert response.status_code == 201, response.json
        return int(response.json["conversation"]["id"])

    def write(self, conversation_id: int, body: str) -> int:
        response = self.client.post(
            f"/widget/v1/apps/{self.app_id}/conversations/{conversation_id}/messages",
            json={"body": body},
            headers=self.headers,
        )
        assert response.status_code == 201, response.json
        return int(response.json["message"]["id"])

    def api_texts(self, conversation_id: int) -> str:
        """Everything the widget API answers about the visitor's conversations, as raw text."""
        listing = self.client.get(
            f"/widget/v1/apps/{self.app_id}/conversations", headers=self.headers
        )
        messages = self.client.get(
            f"/widget/v1/apps/{self.app_id}/conversations/{conversation_id}/messages",
            headers=self.headers,
        )
        assert listing.status_code == 200 and messages.status_code == 200
        return listing.get_data(as_text=True) + messages.get_data(as_text=True)


# --- reading pages ----------------------------------------------------------------------------

ROW = re.compile(r'<a class="conversation-item([^"]*)" href="/inbox/(\d+)"')


def unread_rows(html: str) -> set[int]:
    return {int(cid) for classes, cid in ROW.findall(html) if "is-unread" in classes.split()}


def row_of(html: str, conversation_id: int) -> str:
    start = html.index(f'href="/inbox/{conversation_id}"')
    return html[start : html.index("</a>", start)]


def preview_of(html: str, conversation_id: int) -> str:
    row = row_of(html, conversation_id)
    match = re.search(r'<span class="preview">(.*?)</span>\s*<span class="badge', row, re.S)
    assert match, row
    return match.group(1)


def nav_count(html: str) -> tuple[str, bool]:
    """The navigation's unread count: (its data-unread, whether it is shown)."""
    match = re.search(r'<span id="nav-unread"[^>]*data-unread="(\d+)"([^>]*)>', html)
    assert match, "no unread count in the navigation"
    return match.group(1), "hidden" not in match.group(2)


def title_of(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return match.group(1)


def activity_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Activity)) or 0


def assignee_of(app: Flask, conversation_id: int) -> int | None:
    with app.app_context():
        return db.session.get(Conversation, conversation_id).assignee_id  # type: ignore[union-attr]


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def app_id(app):
    return make_workspace(app)


@pytest.fixture
def ann(app, app_id):
    return new_operator(app, "Ann")


@pytest.fixture
def ben(app, app_id):
    return new_operator(app, "Ben")


# --- unread ---------------------------------------------------------------------------------------


def test_unread_is_per_operator_and_counted_in_the_navigation_and_title(
    app, app_id, ann, ben, clock
):
    assert nav_count(ann.page("/inbox")) == ("0", False)
    assert title_of(ann.page("/inbox")) == "Inbox · Promptify"
    first = Visitor(app, app_id, "v1", "Vera").start("Where is my invoice?")
    clock.advance(seconds=10)
    second = Visitor(app, app_id, "v2", "Walt").start("Can I change plans?")

    page = ann.page("/inbox")
    assert unread_rows(page) == {first, second}
    assert nav_count(page) == ("2", True)
    assert title_of(page) == "(2) Inbox · Promptify"
    assert "Unread: </span>Vera" in row_of(page, first)  # announced to screen readers

    opened = ann.get(f"/inbox/{first}", **HX)
    assert opened.status_code == 200
    # the list refreshes, showing it read, once the thread is in and its URL pushed
    assert opened.headers["HX-Trigger-After-Swap"] == "conversation-updated"
    page = ann.page("/inbox")
    assert unread_rows(page) == {second}
    assert title_of(page) == "(1) Inbox · Promptify"
    assert ben.unread_ids() == {first, second}  # Ben has not seen anything
    assert "HX-Trigger-After-Swap" not in ann.get(f"/inbox/{first}", **HX).headers  # all read

    Visitor(app, app_id, "v1", "Vera").write(first, "Hello?")
    assert ann.unread_ids() == {first, second}
    # closed conversations are not counted, though their row still says unread
    ben.post(f"/inbox/{second}/status", {"status": "closed"})
    assert nav_count(ann.page("/inbox")) == ("1", True)
    assert ann.unread_ids() == {first, second}
    # every console page shows the count
    contacts = ann.page("/contacts")
    assert nav_count(contacts) == ("1", True) and title_of(contacts).startswith("(1) ")


def test_opening_a_conversation_marks_it_read_for_that_operator_only(app, app_id, ann, ben):
    cid = Visitor(app, app_id, "v1", "Vera").start("Hi")
    assert ann.get(f"/inbox/{cid}").status_code == 200  # a full page (deep link) too
    with app.app_context():
        marks = db.session.execute(select(OperatorRead.operator_id, OperatorRead.conversation_id))
        assert {tuple(m) for m in marks} == {(ann.id, cid)}
    assert cid not in unread_rows(ann.page("/inbox"))
    assert cid in ben.unread_ids()


def test_the_count_says_99_plus_beyond_99(app, app_id, ann):
    workspace = workspace_id(app, app_id)
    with app.app_context():
        now = app_clock.now()
        for i in range(100):
            contact = Contact(
                workspace_id=workspace,
                external_id=f"bulk-{i}",
                attrs={},
                verified=False,
                first_seen_at=now,
                last_seen_at=now,
            )
            db.session.add(contact)
            db.session.flush()
            conversation = Conversation(
                workspace_id=workspace,
                contact_id=contact.id,
                status="open",
                preview="",
                created_at=now,
                last_message_at=now,
            )
            db.session.add(conversation)
            db.session.flush()
            conversations.add_message(conversation, "contact", f"message {i}", now=now)
        db.session.commit()
    page = ann.page("/inbox")
    assert title_of(page) == "(99+) Inbox · Promptify"
    assert nav_count(page) == ("100", True) and ">99+</span>" in page
    assert ann.get("/inbox/attention").json["unreadLabel"] == "99+"


def test_a_visible_thread_poll_reads_new_messages_a_hidden_one_does_not(app, app_id, ann, clock):
    vera = Visitor(app, app_id, "v1", "Vera")
    cid = vera.start("Hi")
    ann.get(f"/inbox/{cid}", **HX)
    clock.advance(seconds=5)
    newest = vera.write(cid, "Anyone there?")
    assert cid in ann.unread_ids()

    hidden = ann.get(f"/inbox/{cid}/poll?after={newest - 1}&after_activity=0", **HIDDEN)
    assert hidden.status_code == 200 and "Anyone there?" in hidden.get_data(as_text=True)
    assert "HX-Trigger" not in hidden.headers
    assert cid in ann.unread_ids()  # shown in a background tab: not seen yet

    # the tab comes back: the next poll has nothing new to show, yet reads what is on screen
    back = ann.get(f"/inbox/{cid}/poll?after={newest}&after_activity=0", **VISIBLE)
    assert back.status_code == 204 and back.headers["HX-Trigger"] == "conversation-updated"
    assert cid not in ann.unread_ids()
    again = ann.get(f"/inbox/{cid}/poll?after={newest}&after_activity=0", **VISIBLE)
    assert again.status_code == 204 and "HX-Trigger" not in again.headers

    clock.advance(seconds=5)
    vera.write(cid, "Hello??")
    seen = ann.get(f"/inbox/{cid}/poll?after={newest}&after_activity=0", **VISIBLE)
    assert "Hello??" in seen.get_data(as_text=True)
    assert seen.headers["HX-Trigger"] == "conversation-updated"
    assert cid not in ann.unread_ids()


def test_the_preview_says_who_spoke_last(app, app_id, ann, ben, clock):
    vera = Visitor(app, app_id, "v1", "Vera")
    cid = vera.start("My export is empty")
    assert preview_of(ann.page("/inbox"), cid) == "My export is empty"
    clock.advance(seconds=5)
    assert ann.post(f"/inbox/{cid}/reply", {"body": "Looking into it"}).status_code == 200
    assert preview_of(ann.page("/inbox"), cid) == (
        '<span class="speaker">You:</span> Looking into it'
    )
    assert (
        preview_of(ben.page("/inbox"), cid) == '<span class="speaker">Ann:</span> Looking into it'
    )
    clock.advance(seconds=5)
    ben.post(f"/inbox/{cid}/note", {"note": "Known bug, see ticket 12"})  # notes are no message
    assert preview_of(ann.page("/inbox"), cid) == (
        '<span class="speaker">You:</span> Looking into it'
    )
    clock.advance(seconds=5)
    vera.write(cid, "Thanks!")
    assert preview_of(ben.page("/inbox"), cid) == "Thanks!"


# --- notes and events -----------------------------------------------------------------------------


def test_notes_and_events_appear_in_order_and_never_in_the_widget_api(app, app_id, ann, ben, clock):
    vera = Visitor(app, app_id, "v1", "Vera")
    cid = vera.start("Help with SSO")
    clock.advance(minutes=1)
    assert ann.post(f"/inbox/{cid}/assignee", {"assignee": str(ben.id)}).status_code == 200
    clock.advance(minutes=1)
    note = ann.post(f"/inbox/{cid}/note", {"note": "Secret: customer is on the legacy plan"})
    assert note.status_code == 200 and note.headers["HX-Trigger"] == "conversation-updated"
    clock.advance(minutes=1)
    ben.post(f"/inbox/{cid}/reply", {"body": "Which identity provider?"})
    clock.advance(minutes=1)
    ben.post(f"/inbox/{cid}/status", {"status": "closed"})
    clock.advance(minutes=1)
    vera.write(cid, "Okta")  # reopens it
    clock.advance(minutes=1)
    ann.post(f"/inbox/{cid}/assignee", {"assignee": ""})

    thread = ann.page(f"/inbox/{cid}", **HX)
    expected = [
        "Help with SSO",
        "Ann assigned this to Ben",
        "Private note",
        "Secret: customer is on the legacy plan",
        "Which identity provider?",
        "Closed by Ben",
        "Okta",
        "Reopened by the visitor",
        "Ann unassigned this conversation",
    ]
    positions = [thread.find(text) for text in expected]
    assert -1 not in positions, dict(zip(expected, positions, strict=True))
    assert positions == sorted(positions)
    assert 'class="activity activity-note"' in thread
    # each event says when, in the operator's time (UTC by default), the UTC time on hover
    assigned = re.search(r"Ann assigned this to Ben · <time [^>]*>(\d\d:\d\d)</time>", thread)
    assert assigned, thread
    with app.app_context():
        first = db.session.scalar(select(Activity).order_by(Activity.id).limit(1))
        assert assigned.group(1) == first.created_at.strftime("%H:%M")  # type: ignore[union-attr]

    api = vera.api_texts(cid)
    assert "Which identity provider?" in api and "Okta" in api
    for private in ["Secret", "legacy plan", "assigned", "unassigned", "Closed by", "note"]:
        assert private not in api, private


def test_the_thread_poll_brings_new_notes_and_events_and_the_header(app, app_id, ann, ben, clock):
    vera = Visitor(app, app_id, "v1", "Vera")
    cid = vera.start("Hi")
    opened = ann.page(f"/inbox/{cid}", **HX)
    poller = re.search(r'hx-get="(/inbox/\d+/poll\?[^"]+)"', opened)
    assert poller, opened
    poll_url = poller.group(1).replace("&amp;", "&")
    assert "after_activity=0" in poll_url
    assert ann.get(poll_url, **VISIBLE).status_code == 204

    clock.advance(seconds=30)
    ben.post(f"/inbox/{cid}/note", {"note": "I know this customer"})
    clock.advance(seconds=30)
    ben.post(f"/inbox/{cid}/status", {"status": "closed"})
    polled = ann.get(poll_url, **VISIBLE)
    html = polled.get_data(as_text=True)
    assert polled.status_code == 200
    assert html.index("I know this customer") < html.index("Closed by Ben")
    assert 'id="thread-header" class="thread-header" hx-swap-oob="true"' in html
    header = html[html.index('id="thread-header"') :]
    assert "Closed ·" in header and ">Reopen</button>" in header

    next_url = re.search(r'hx-get="(/inbox/\d+/poll\?[^"]+)"', html).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert next_url != poll_url
    assert ann.get(next_url, **VISIBLE).status_code == 204  # nothing shown twice
    clock.advance(seconds=30)
    ben.post(f"/inbox/{cid}/note", {"note": "Second note"})
    notes_only = ann.get(next_url, **VISIBLE).get_data(as_text=True)
    assert "Second note" in notes_only and "I know this customer" not in notes_only
    assert "hx-swap-oob" not in notes_only  # a note changes nothing in the header


# --- assignment ---------------------------------------------------------------------------------


def test_assign_to_another_operator_unassign_and_assign_to_me(app, app_id, ann, ben):
    cid = Visitor(app, app_id, "v1", "Vera").start("Hi")
    thread = ann.page(f"/inbox/{cid}", **HX)
    options = re.findall(r'<option value="(\d*)"[^>]*>([^<]*)</option>', thread)
    assert options == [("", "Unassigned"), (str(ann.id), "Ann (you)"), (str(ben.id), "Ben")]
    assert ">Assign to me</button>" in thread

    to_ben = ann.post(f"/inbox/{cid}/assignee", {"assignee": str(ben.id)})
    assert to_ben.status_code == 200 and to_ben.headers["HX-Trigger"] == "conversation-updated"
    html = to_ben.get_data(as_text=True)
    assert "assigned to Ben" in html and "Ann assigned this to Ben" in html
    assert f'<option value="{ben.id}" selected>' in html
    assert assignee_of(app, cid) == ben.id
    assert f'href="/inbox/{cid}"' in ben.page("/inbox?status=mine", **HX)
    assert f'href="/inbox/{cid}"' not in ann.page("/inbox?status=mine", **HX)
    assert "assigned to you" in ben.page(f"/inbox/{cid}", **HX)

    unassigned = ann.post(f"/inbox/{cid}/assignee", {"assignee": ""}).get_data(as_text=True)
    assert "Ann unassigned this conversation" in unassigned
    assert re.search(r"Open ·\s+unassigned", unassigned)
    assert assignee_of(app, cid) is None

    mine = ben.post(f"/inbox/{cid}/assign").get_data(as_text=True)
    assert "Ben assigned this to themselves" in mine and "assigned to you" in mine
    assert ">Assign to me</button>" not in mine
    same = ben.post(f"/inbox/{cid}/assignee", {"assignee": str(ben.id)})
    assert same.status_code == 200
    assert same.get_data(as_text=True).count("assigned this to") == 2  # no event for no change

    plain = ann.post(f"/inbox/{cid}/assignee", {"assignee": str(ann.id)}, htmx=False)
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/inbox/{cid}")
    assert assignee_of(app, cid) == ann.id


def test_agents_and_admins_both_work_as_a_team_and_deactivated_operators_are_not_offered(
    app, app_id, ann
):
    admin = new_operator(app, "Ada", role="admin")
    gone = new_operator(app, "Gus")
    cid = Visitor(app, app_id, "v1", "Vera").start("Hi")
    assert admin.post(f"/inbox/{cid}/assignee", {"assignee": str(ann.id)}).status_code == 200
    assert ann.post(f"/inbox/{cid}/note", {"note": "agent note"}).status_code == 200
    assert admin.post(f"/inbox/{cid}/note", {"note": "admin note"}).status_code == 200
    with app.app_context():
        operators.deactivate(db.session.get(OperatorRow, gone.id))  # type: ignore[arg-type]
    thread = ann.page(f"/inbox/{cid}", **HX)
    assert f'<option value="{gone.id}"' not in thread
    before = activity_count(app)
    refused = ann.post(f"/inbox/{cid}/assignee", {"assignee": str(gone.id)})
    assert refused.status_code == 422
    assert "does not exist or was deactivated" in refused.get_data(as_text=True)
    assert assignee_of(app, cid) == ann.id and activity_count(app) == before
    # a deactivated operator's own session ends with them
    assert gone.post(f"/inbox/{cid}/note", {"note": "still here?"}).status_code == 302
    assert activity_count(app) == before


def test_signed_out_and_csrf_less_posts_change_nothing(app, app_id, ann, client):
    cid = Visitor(app, app_id, "v1", "Vera").start("Hi")
    anonymous_token = csrf_token_from(client.get("/login").get_data(as_text=True))
    for path, data in [
        (f"/inbox/{cid}/note", {"note": "x"}),
        (f"/inbox/{cid}/assignee", {"assignee": str(ann.id)}),
        (f"/inbox/{cid}/assign", {}),
        (f"/inbox/{cid}/status", {"status": "closed"}),
    ]:
        without_token = ann.client.post(path, data=data, headers=HX)
        assert without_token.status_code == 400, path
        signed_out = client.post(path, data={**data, "csrf_token": anonymous_token})
        assert signed_out.status_code == 302, path
        assert signed_out.headers["Location"].startswith("/login"), path
    assert activity_count(app) == 0 and assignee_of(app, cid) is None
    with app.app_context():
        assert db.session.get(Conversation, cid).status == "open"  # type: ignore[union-attr]


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("", "Write a note first."),
        ("   \n  ", "Write a note first."),
        ("x" * 10_001, "A note can be at most 10,000 characters long."),
        ("bad\x00note", "NUL character"),
    ],
    ids=["empty", "blank", "too-long", "nul"],
)
def test_a_refused_note_is_a_form_error_and_writes_nothing(app, app_id, ann, note, message):
    cid = Visitor(app, app_id, "v1", "Vera").start("Hi")
    response = ann.post(f"/inbox/{cid}/note", {"note": note})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" not in html and message in html
    assert 'id="note-body-error" role="alert"' in html
    assert activity_count(app) == 0
    plain = ann.post(f"/inbox/{cid}/note", {"note": note}, htmx=False)
    assert plain.status_code == 422 and "<html" in plain.get_data(as_text=True)


def test_the_longest_note_is_accepted(app, app_id, ann):
    cid = Visitor(app, app_id, "v1", "Vera").start("Hi")
    assert ann.post(f"/inbox/{cid}/note", {"note": "y" * 10_000}).status_code == 200
    assert activity_count(app) == 1


@pytest.mark.parametrize(
    ("assignee", "message"),
    [
        ("999999", "does not exist or was deactivated"),
        ("2147483647", "does not exist or was deactivated"),
        ("abc", "Choose an operator from the list"),
        ("1.5", "Choose an operator from the list"),
        ("-1", "Choose an operator from the list"),
        ("0", "Choose an operator from the list"),
        ("99999999999999999999", "Choose an operator from the list"),
        ("１", "Choose an operator from the list"),  # a full-width digit
        (None, "Choose an operator from the list"),  # no field at all
    ],
)
def test_a_refused_assignee_is_a_form_error_and_writes_nothing(app, app_id, ann, assignee, message):
    cid = Visitor(app, app_id, "v1", "Vera").start("Hi")
    ann.post(f"/inbox/{cid}/assign")
    before = activity_count(app)
    response = ann.post(
        f"/inbox/{cid}/assignee", {} if assignee is None else {"assignee": assignee}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'id="assignee-error" role="alert"' in html
    assert assignee_of(app, cid) == ann.id and activity_count(app) == before


def test_other_workspaces_and_impossible_ids_are_404(app, app_id, ann):
    other = make_workspace(app)  # newer: the console shows the oldest one
    theirs = Visitor(app, other, "o1", "Olga").start("Not yours")
    # within a page (htmx) another workspace's conversation is not there; a plain link to it
    # switches the console's workspace (tests/integration/test_inbox.py), so it is not followed
    assert ann.get(f"/inbox/{theirs}", **HX).status_code == 404
    for path in ["/inbox/2147483648", "/inbox/99999999999999999999"]:
        assert ann.get(path).status_code == 404, path
    assert ann.get(f"/inbox/{theirs}/poll?after=0", **HX).status_code == 286
    assert ann.get("/inbox/99999999999999999999/poll?after=0", **HX).status_code == 286
    mine = Visitor(app, app_id, "v1", "Vera").start("Mine")
    huge = "99999999999999999999"
    assert ann.get(f"/inbox/{mine}/poll?after={huge}", **HX).status_code == 204
    polled = ann.get(f"/inbox/{mine}/poll?after=0&after_activity={huge}", **HX)
    assert polled.status_code == 200 and "Mine" in polled.get_data(as_text=True)
    for action, data in [
        ("note", {"note": "x"}),
        ("assignee", {"assignee": str(ann.id)}),
        ("assign", {}),
        ("status", {"status": "closed"}),
        ("reply", {"body": "x"}),
    ]:
        assert ann.post(f"/inbox/{theirs}/{action}", data).status_code == 404, action
        assert ann.post(f"/inbox/99999999999999999999/{action}", data).status_code == 404
        assert ann.post(f"/inbox/abc/{action}", data).status_code == 404
    assert activity_count(app) == 0 and assignee_of(app, theirs) is None
    assert ann.post(f"/inbox/{theirs}/status", {"status": "archived"}).status_code == 404


def test_an_unknown_status_is_400(app, app_id, ann):
    cid = Visitor(app, app_id, "v1", "Vera").start("Hi")
    assert ann.post(f"/inbox/{cid}/status", {"status": "archived"}).status_code == 400
    assert activity_count(app) == 0


# --- escaping -------------------------------------------------------------------------------------

EVIL = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def test_notes_operator_and_contact_names_are_escaped(app, app_id, ann, clock):
    mallory = new_operator(app, f"Mal {EVIL}")
    vera = Visitor(app, app_id, "v1", f"Vera {EVIL}")
    cid = vera.start(f"body {EVIL}")
    opened = ann.page(f"/inbox/{cid}", **HX)
    poller = re.search(r'hx-get="(/inbox/\d+/poll\?[^"]+)"', opened).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    clock.advance(seconds=5)
    mallory.post(f"/inbox/{cid}/note", {"note": f"note {EVIL}"})
    ann.post(f"/inbox/{cid}/assignee", {"assignee": str(mallory.id)})
    clock.advance(seconds=5)
    mallory.post(f"/inbox/{cid}/reply", {"body": f"reply {EVIL}"})
    pages = {
        "thread": ann.page(f"/inbox/{cid}", **HX),
        "page": ann.page(f"/inbox/{cid}"),
        "list": ann.page("/inbox"),
        "poll": ann.get(poller, **VISIBLE).get_data(as_text=True),
    }
    for name, html in pages.items():
        assert "<script>alert(1)" not in html and "<img src=x" not in html, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, name
    assert "Mal &lt;script&gt;" in preview_of(pages["list"], cid)  # who spoke last
    for name in ["thread", "poll"]:
        assert "note &lt;script&gt;" in pages[name], name
        assert "assigned this to Mal &lt;script&gt;" in pages[name], name
    assert re.search(rf'<option value="{mallory.id}"[^>]*>Mal &lt;script&gt;', pages["thread"])


# --- the attention poll ---------------------------------------------------------------------------


def test_the_attention_poll_needs_a_signed_in_operator(app, app_id, client):
    response = client.get("/inbox/attention")
    assert response.status_code == 401 and response.is_json
    assert response.headers["Cache-Control"] == "no-store"
    assert "unread" not in response.json


def test_the_attention_poll_reports_the_count_and_new_visitor_messages(
    app, app_id, ann, ben, clock
):
    first = ann.get("/inbox/attention")
    assert first.status_code == 200 and first.is_json
    assert first.headers["Cache-Control"] == "no-store"
    assert first.json == {"unread": 0, "unreadLabel": "0", "cursor": 0, "latest": None}

    vera = Visitor(app, app_id, "v1", "Vera")
    cid = vera.start("First question")
    baseline = ann.get("/inbox/attention").json  # a page's first poll: nothing old is news
    assert baseline["latest"] is None and baseline["unread"] == 1 and baseline["cursor"] > 0

    clock.advance(seconds=5)
    walt = Visitor(app, app_id, "v2", None)
    new_cid = walt.start("  A brand new\nconversation  ")
    news = ann.get(f"/inbox/attention?after={baseline['cursor']}").json
    assert news["unread"] == 2 and news["unreadLabel"] == "2"
    assert news["latest"] == {
        "conversationId": new_cid,
        "messageId": news["cursor"],
        "contact": "v2",
        "preview": "A brand new conversation",
        "newConversation": True,
        "others": 0,
        "url": f"/inbox/{new_cid}",
    }
    assert ann.get(f"/inbox/attention?after={news['cursor']}").json["latest"] is None

    clock.advance(seconds=5)
    vera.write(cid, "x" * 300)
    ben.post(f"/inbox/{cid}/reply", {"body": "An agent's reply is no news"})
    ben.post(f"/inbox/{cid}/note", {"note": "Nor is a note"})
    clock.advance(seconds=5)
    vera.write(cid, "Second question")
    later = ann.get(f"/inbox/attention?after={news['cursor']}").json
    assert later["latest"]["conversationId"] == cid
    assert later["latest"]["preview"] == "Second question"
    assert later["latest"]["newConversation"] is False and later["latest"]["others"] == 1
    assert later["cursor"] == later["latest"]["messageId"]

    # what this operator has already read is no news to them (another tab showed it)
    clock.advance(seconds=5)
    vera.write(cid, "y" * 300)
    ann.get(f"/inbox/{cid}", **HX)
    read = ann.get(f"/inbox/attention?after={later['cursor']}").json
    assert read["latest"] is None and read["unread"] == 1
    assert ben.get(f"/inbox/attention?after={later['cursor']}").json["latest"]["preview"] == (
        "y" * 140 + "…"
    )


def test_the_attention_poll_is_scoped_to_the_current_workspace(app, app_id, ann):
    other = make_workspace(app)
    start = ann.get("/inbox/attention").json["cursor"]
    theirs = Visitor(app, other, "o1", "Olga").start("In the other workspace")
    polled = ann.get(f"/inbox/attention?after={start}").json
    assert polled["latest"] is None and polled["unread"] == 0
    assert polled["cursor"] > start  # looked at once, never again
    assert nav_count(ann.page("/inbox")) == ("0", False)

    ann.client.post("/workspace", data={"csrf_token": ann.token, "app_id": other})
    switched = ann.get(f"/inbox/attention?after={start}").json
    assert switched["unread"] == 1 and switched["latest"]["conversationId"] == theirs
    assert nav_count(ann.page("/inbox")) == ("1", True)


@pytest.mark.parametrize("after", ["abc", "-1", "1.0", "", "9" * 19, "１"])
def test_a_malformed_attention_cursor_is_400(app, app_id, ann, after):
    response = ann.get(f"/inbox/attention?after={after}")
    assert response.status_code == 400 and response.is_json
    assert "after" in response.json["error"]
