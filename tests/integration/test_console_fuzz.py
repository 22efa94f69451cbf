"""Whatever an operator's browser sends, the console answers below 500, and a GET writes nothing
but the read mark that opening a conversation sets (docs/operations.md, "The console").

Property-based: every console route of `app.url_map` (the widget API and static files have their
own tests) with each of its methods, path parameters replaced by odd ids, odd query strings, odd
htmx headers and odd form fields, signed in as an agent and as an admin whose CSRF token is
valid, on every backend. Then the cases it is built around, as plain examples.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import Contact, Membership, Operator, Organization, Workspace
from promptify.services import operators
from tests.conftest import csrf_token_from
from tests.factories import make_conversation, make_workspace

# Each example sends one request to every route and method of the console (some fifty).
MAX_EXAMPLES = 30  # per role and backend: about 40 s for both roles
PASSWORD = "a long password"

# --- what the fuzz throws ---------------------------------------------------------------------

HUGE_IDS = [
    "0",
    "2147483647",
    "2147483648",  # 2**31: past our integer columns
    "4294967296",
    "99999999999",
    "9" * 20,
    "9" * 5000,  # past Python's int-from-string limit
]
ODD_IDS = [
    "-1",
    "٣",  # Arabic-Indic three
    "١٢",
    "²",  # superscript two: isdigit(), yet int() refuses it
    "１",  # full-width one
    "%00",
    "1%00",
    "%ZZ",
    "%",
    "abc",
    "1.5",
    "1e3",
    "+1",
    "%201",
    "a" * 3000,
]
CONTROL = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u2028", "\u2029", "\ufeff"]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
ODD_VALUES = [
    "",
    "\x00",
    "a\x00b",
    "\r\n",
    "\n",
    "x\r\nSet-Cookie: stolen=1",
    "0",
    "-1",
    "2147483648",
    "99999999999",
    "9" * 40,
    "9" * 5000,
    "٣",
    "²",
    "1700000000.000000_1",
    "1700000000.000000_99999999999",
    "1700000000.000000_-5",
    "1700000000.000000_٣",
    "٣_٣",
    "nan_1",
    "inf_1",
    "-inf_1",
    "1e400_1",
    "-1e20_1",
    "99999999999999_1",
    "-99999999999_1",
    "1_0_1",
    "_",
    "open",
    "closed",
    "mine",
    "all",
    "//evil.example",
    "/\\evil.example",
    "/\t/evil.example",
    "/inbox\r\nX-Injected: 1",
    "https://evil.example/",
    "javascript:alert(1)",
    "/inbox",
    "/contacts?q=a",
    "x" * 5000,
]
QUERY_KEYS = [
    "before",
    "after",
    "after_activity",
    "after_id",
    "after_name",
    "q",
    "status",
    "next",
    "page",
    "cursor",
]
FORM_KEYS = [
    "body",
    "note",
    "status",
    "assignee",
    "app_id",
    "next",
    "email",
    "password",
    "remember",
    "pem",
    "thumbprint",
    "confirm",
    "token",
    "require_jwt",
    "origins",
    "name",
    "role",
    "time_zone",
    "notify_email",
    "current_password",
    "new_password",
    "confirm_password",
]
HTMX_HEADERS = [
    "HX-Request",
    "HX-Current-URL",
    "HX-Target",
    "HX-Trigger",
    "HX-Trigger-Name",
    "HX-Boosted",
    "HX-History-Restore-Request",
    "X-Promptify-Visible",
]

odd_chars = st.one_of(
    st.characters(),
    st.sampled_from(CONTROL + SURROGATES + ["٣", "²", "１", "/", "\\", "%", "&", "="]),
)
odd_text = st.one_of(st.sampled_from(ODD_VALUES), st.text(odd_chars, max_size=30))


def encode(text: str) -> str:
    """Percent-encoded UTF-8; a lone surrogate goes out as the bytes a sloppy client would send."""
    return quote(text, safe="", errors="surrogatepass")


def raw_id(real_ids: list[str]) -> st.SearchStrategy[str]:
    """A path segment as sent: a real id, an odd one (as is), or any text percent-encoded."""
    return st.one_of(
        st.sampled_from(real_ids),
        st.sampled_from(HUGE_IDS),
        st.sampled_from(ODD_IDS),
        st.integers(min_value=0, max_value=2**70).map(str),
        st.text(odd_chars, max_size=12).map(encode),
    )


def pairs(keys: list[str], values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A urlencoded string of 0 to 6 pairs, keys repeated at times, sometimes with raw junk."""
    known = st.sampled_from(keys)
    pair = st.tuples(st.one_of(known, known, known, st.text(odd_chars, max_size=8)), values)
    return st.one_of(
        st.lists(pair, max_size=6).map(
            lambda items: "&".join(f"{encode(k)}={encode(v)}" for k, v in items)
        ),
        st.sampled_from(["&&", "=", "q", "q=%ZZ", "q=%ED%A0%80", "before=1&before=2", "%00=%00"]),
    )


def header_value(real_ids: list[str]) -> st.SearchStrategy[str]:
    url = st.builds(
        lambda prefix, tail: prefix + tail,
        st.sampled_from(
            [
                "http://localhost/inbox/",
                "/inbox/",
                "http://localhost/contacts/",
                "http://[::1/inbox/",
                "http://localhost:99999/inbox/",
                "//[",
                "",
            ]
        ),
        st.one_of(raw_id(real_ids), st.sampled_from(["1\n2", "1\r\n", "\x00", "1?q=\n"])),
    )
    return st.one_of(url, odd_text, st.sampled_from(["true", "false", "1", "TRUE", "#messages"]))


# --- the signed-in console -----------------------------------------------------------------


@dataclass
class Console:
    app: Flask
    client: FlaskClient
    rules: list[Rule]
    real_ids: list[str]
    app_id: str
    email: str
    token: str = ""
    session_cookie: str = ""

    def sign_in(self) -> None:
        """Sign in (again: a fuzzed post may have signed this operator out) and keep the session."""
        self.client.delete_cookie(self.app.config["SESSION_COOKIE_NAME"])
        page = self.client.get("/login").get_data(as_text=True)
        response = self.client.post(
            "/login",
            data={"email": self.email, "password": PASSWORD, "csrf_token": csrf_token_from(page)},
        )
        assert response.status_code == 303, response.status_code
        self.token = csrf_token_from(self.client.get("/profile").get_data(as_text=True))
        cookie = self.client.get_cookie(self.app.config["SESSION_COOKIE_NAME"])
        assert cookie is not None
        self.session_cookie = cookie.value

    def restore_session(self) -> None:
        """Back to the signed-in session (a fuzzed post may have switched the workspace)."""
        self.client.set_cookie(self.app.config["SESSION_COOKIE_NAME"], self.session_cookie)

    def signed_out(self, response: TestResponse) -> bool:
        location = urlsplit(response.headers.get("Location", "")).path
        return (response.status_code in (302, 303) and location == "/login") or (
            response.status_code == 401 and response.is_json
        )

    @contextlib.contextmanager
    def statements(self) -> Iterator[list[str]]:
        seen: list[str] = []
        with self.app.app_context():
            engine = db.engine

        def before(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", before)


def console_rules(app: Flask) -> list[Rule]:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if not rule.rule.startswith(("/widget/", "/static/"))
        ),
        key=lambda rule: (rule.rule, rule.endpoint),
    )


def _seed(app: Flask, app_id: str) -> list[str]:
    """Rows to aim at: conversations, a contact in an organization, an operator or two."""
    first = make_conversation(app, app_id, external_id="ann", name="Ann", messages=("Hi", "Hey"))
    second = make_conversation(app, app_id, external_id="bob", name="Bob", status="closed")
    with app.app_context():
        workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
        contact = db.session.scalar(select(Contact).where(Contact.external_id == "ann"))
        organization = Organization(
            workspace_id=workspace.id,
            external_id="acme",
            name="Acme",
            attrs={},
            created_at=app_clock.now(),
        )
        db.session.add(organization)
        db.session.flush()
        db.session.add(Membership(contact_id=contact.id, organization_id=organization.id))
        db.session.commit()
        operators.create_operator(
            "teammate@example.com", "Teammate", "agent", PASSWORD, now=app_clock.now()
        )
        ids = {first, second, contact.id, organization.id}
        ids |= set(db.session.scalars(select(Operator.id)))
    return sorted(str(i) for i in ids)


@pytest.fixture
def console(app: Flask, client: FlaskClient, login, role: str) -> Console:  # type: ignore[no-untyped-def]
    app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"  # signing in again is not an attack here
    app_id = make_workspace(app)
    make_workspace(app)  # a second workspace: the switcher has something to switch to
    email = login(role, email=f"{role}@example.com", password=PASSWORD)
    console = Console(app, client, console_rules(app), _seed(app, app_id), app_id, email)
    console.sign_in()  # the session this test goes back to before each example
    return console


WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|REPLACE|UPSERT)\b", re.IGNORECASE)
READ_MARKS = re.compile(r"^\s*INSERT INTO operator_read\b", re.IGNORECASE)
MARKS_READ = {"inbox.conversation", "inbox.poll"}  # opening a thread marks it read (by design)


@pytest.mark.parametrize("role", ["agent", "admin"])
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # every failing request is named in the failure (all of one example's at once): shrinking
    # an example of some 35 requests would only take minutes
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_console_input_is_a_server_error(console: Console, data: st.DataObject) -> None:
    problems = [
        problem
        for rule in console.rules
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        if (problem := request(console, data, rule, method)) is not None
    ]
    assert problems == []


def request(console: Console, data: st.DataObject, rule: Rule, method: str) -> str | None:
    """One odd request to `rule` with `method`; what went wrong: a 5xx, or a GET that wrote."""
    path = re.sub(
        r"<[^>]+>", lambda _: data.draw(raw_id(console.real_ids), label="path id"), rule.rule
    )
    query = data.draw(pairs(QUERY_KEYS, odd_text), label="query")
    headers = data.draw(
        st.dictionaries(st.sampled_from(HTMX_HEADERS), header_value(console.real_ids), max_size=4),
        label="headers",
    )
    form = None
    if method == "POST":
        fields = data.draw(
            pairs(FORM_KEYS, st.one_of(odd_text, st.sampled_from(console.real_ids))),
            label="form",
        )
        token = data.draw(st.sampled_from([console.token] * 8 + ["", "junk"]), label="csrf")
        form = "&".join(
            part for part in (f"csrf_token={token}", f"workspace={console.app_id}", fields) if part
        )

    console.restore_session()
    with console.statements() as statements:
        response = console.client.open(
            path + (f"?{query}" if query else ""),
            method=method,
            data=form,
            content_type="application/x-www-form-urlencoded" if form is not None else None,
            # straight into the WSGI environ: line breaks and any character get through
            environ_overrides={
                "HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()
            },
        )
    if console.signed_out(response):  # e.g. a fuzzed "Sign out": sign in again for the next
        console.sign_in()
    sent = f"{method} {path!r} query={query!r} headers={headers!r} form={form!r}"
    if response.status_code >= 500:
        return f"{response.status_code} for {sent}"
    writes = [s for s in statements if WRITES.match(s)] if method == "GET" else []
    if rule.endpoint in MARKS_READ:
        writes = [s for s in writes if not READ_MARKS.match(s)]
    return f"{sent} wrote: {writes}" if writes else None


# --- the cases above, as plain examples ----------------------------------------------------


HX = {"HX-Request": "true"}


@pytest.fixture
def app_id(app: Flask) -> str:
    return make_workspace(app)


@pytest.fixture
def agent(app_id: str, client: FlaskClient, login) -> FlaskClient:  # type: ignore[no-untyped-def]
    login("agent")
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/contacts/99999999999",
        "/contacts/2147483648",
        "/organizations/99999999999",
        "/organizations/" + "9" * 30,
        "/inbox/2147483648",
        "/contacts/٣",
        "/contacts/0",
    ],
)
def test_ids_beyond_the_integer_columns_are_404(agent, path):
    assert agent.get(path).status_code == 404
    assert agent.get(path, headers=HX).status_code == 404


def test_a_team_id_beyond_the_integer_columns_is_404(client, login, app, csrf):
    make_workspace(app)
    login("admin")
    token = csrf("/settings/team")
    for action, data in [("role", {"role": "agent"}), ("deactivate", {})]:
        response = client.post(
            f"/settings/team/99999999999/{action}", data={"csrf_token": token, **data}
        )
        assert response.status_code == 404, action


@pytest.mark.parametrize(
    "path",
    [
        "/inbox?before=1700000000.000000_99999999999",
        "/inbox?before=1700000000.000000_-1&status=all",
        "/inbox?before=%D9%A3_%D9%A3",
        "/inbox?before=99999999999999_1",
        "/inbox?before=-99999999999_1",
        "/contacts?before=1700000000.000000_99999999999",
        "/contacts?before=nan_1",
        "/organizations?after_name=Acme&after_id=99999999999",
        "/organizations?after_name=A%00&after_id=1",
        "/inbox/1/poll?after=99999999999&after_activity=-5",
    ],
)
def test_cursors_beyond_the_integer_columns_are_ignored(agent, path):
    assert agent.get(path).status_code in (200, 286)
    assert agent.get(path, headers=HX).status_code in (200, 286)


@pytest.mark.parametrize("q", ["\x00", "a\x00b", "\x01\x1f\x7f", "Ann\x00", "\x85\u2028"])
@pytest.mark.parametrize("page", ["/inbox", "/contacts", "/organizations"])
def test_control_characters_in_a_search_are_dropped(agent, page, q):
    response = agent.get(page, query_string={"q": q, "status": "all"})
    assert response.status_code == 200
    assert "\x00" not in response.get_data(as_text=True)


def test_a_search_finds_what_it_says_without_its_control_characters(agent, app, app_id):
    make_conversation(app, app_id, external_id="ann", name="Ann Arbor", messages=("About A",))
    make_conversation(app, app_id, external_id="bob", name="Bob", messages=("About B",))
    html = agent.get("/inbox", query_string={"q": "A\x00nn\x07", "status": "all"}).get_data(
        as_text=True
    )
    assert "About A" in html and "About B" not in html
    assert 'value="Ann"' in html  # the field shows the search that ran


@pytest.mark.parametrize(
    "current",
    [
        "http://localhost/inbox/²",
        "http://localhost/inbox/٣",
        "http://localhost/inbox/１",
        "http://localhost/inbox/" + "9" * 5000,
        "http://localhost/inbox/99999999999",
        "http://[::1/inbox/1",
        "/inbox/1\n",
        "/inbox/\x00",
    ],
)
def test_any_hx_current_url_is_understood_or_ignored(agent, current):
    response = agent.get(
        "/inbox",
        headers=HX,
        environ_overrides={"HTTP_HX_CURRENT_URL": current},
    )
    assert response.status_code == 200
    assert 'aria-current="true"' not in response.get_data(as_text=True)


UNSAFE_NEXT = [
    "//evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/inbox\r\nX-Injected: 1",
    "/inbox\x00",
    "https://evil.example/",
    "javascript:alert(1)",
    "inbox",
    "",
]


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_switching_workspace_goes_back_only_to_a_same_site_path(client, app, login, csrf, target):
    app_id = make_workspace(app)
    make_workspace(app)
    login("agent")
    response = client.post(
        "/workspace", data={"csrf_token": csrf(), "app_id": app_id, "next": target}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/inbox"
    assert "X-Injected" not in response.headers


def test_switching_workspace_goes_back_to_the_page_it_was_on(client, app, login, csrf):
    app_id = make_workspace(app)
    make_workspace(app)
    login("agent")
    response = client.post(
        "/workspace", data={"csrf_token": csrf(), "app_id": app_id, "next": "/contacts?q=a"}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/contacts?q=a"


@pytest.mark.parametrize("target", [*UNSAFE_NEXT[:6], "/contacts"])
def test_signing_in_goes_on_only_to_a_same_site_path(client, app, target):
    make_workspace(app)
    with app.app_context():
        operators.create_operator("op@example.com", "Op", "agent", PASSWORD, now=app_clock.now())
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "op@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == ("/contacts" if target == "/contacts" else "/inbox")
