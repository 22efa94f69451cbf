"""The audit log (docs/security.md, "Audit log"; the page: docs/operations.md, "The console"):
each audited change through the console or the command line leaves exactly one event naming
who, when, from where and what, written in the change's own transaction; refused changes leave
none; sign-ins are recorded; the admins' page filters, pages and downloads CSV; retention keeps a
year."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import delete, func, select

from promptify.extensions import db
from promptify.identity.keys import parse_spki_pem
from promptify.models import AuditAction, AuditEvent, Operator, Workspace
from promptify.services import audit, operators, transaction, workspaces
from promptify.services.audit import Actor
from promptify.services.policy import Policy
from tests.conftest import csrf_token_from, settings_form_fields
from tests.factories import (
    identify,
    make_private_key,
    make_workspace,
    private_pem,
    public_pem,
    sign,
)

PAGE = "/settings/audit"
CSV_URL = "/settings/audit/events.csv"
SECURITY = "/settings/messenger/security"
INSTALLATION = "/settings/messenger/installation"
TEAM = "/settings/team"
ADDRESS = "203.0.113.7"
PASSWORD = "a long password"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'


def events(app, action: AuditAction | None = None) -> list[dict[str, Any]]:
    """Every stored event (of `action`), oldest first, as plain data."""
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action is not None:
            query = query.where(AuditEvent.action == action.value)
        return [
            {
                "id": e.id,
                "created_at": e.created_at,
                "workspace_id": e.workspace_id,
                "operator_id": e.operator_id,
                "actor": e.actor,
                "address": e.address,
                "action": e.action,
                "target": e.target,
                "details": e.details,
            }
            for e in db.session.scalars(query)
        ]


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def operator_id(app, email: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(Operator.id).where(Operator.email == email))
        assert found is not None, email
        return found


def workspace_id(app, app_id: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(Workspace.id).where(Workspace.app_id == app_id))
        assert found is not None, app_id
        return found


def add_event(app, when: datetime, action: AuditAction, **fields: Any) -> int:
    """An event written as a service writes one (for the page's filters and paging)."""
    actor = fields.pop("actor", Actor(None, "cli:root"))
    with app.app_context(), transaction.write():
        event = audit.record(action, actor=actor, now=when, **fields)
        db.session.flush()
        return event.id


def shown_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="audit-event-(\d+)"', html)]


@pytest.fixture
def app_id(app):
    return make_workspace(app)


@pytest.fixture
def admin(app, client, login, app_id):
    """An admin signed in from ADDRESS; returns their email."""
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    return login("admin")


def post_settings(client, page: str, path: str, data: dict[str, str], **kwargs: Any):
    return client.post(path, data={**settings_form_fields(client, page), **data}, **kwargs)


def post_team(client, path: str, data: dict[str, str]):
    token = csrf_token_from(client.get(TEAM).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


# --- each change, exactly one event ------------------------------------------------------------


def test_adding_and_replacing_a_key_record_who_when_where_and_what(
    app, client, admin, app_id, clock
):
    first, second = make_private_key("Ed25519"), make_private_key("P-256")
    first_print = parse_spki_pem(public_pem(first)).thumbprint
    second_print = parse_spki_pem(public_pem(second)).thumbprint

    clock.advance(minutes=5)
    response = post_settings(client, SECURITY, f"{SECURITY}/keys", {"pem": public_pem(first)})
    assert response.status_code == 303
    [added] = events(app, AuditAction.KEY_ADDED)
    assert added == {
        "id": added["id"],
        "created_at": clock.current,
        "workspace_id": workspace_id(app, app_id),
        "operator_id": operator_id(app, admin),
        "actor": admin,
        "address": ADDRESS,
        "action": "key.added",
        "target": first_print,
        "details": {
            "key_type": "Ed25519",
            "algorithms": ["EdDSA", "Ed25519"],
            "replaced": [],
            "again": False,
        },
    }

    clock.advance(minutes=1)
    post_settings(client, SECURITY, f"{SECURITY}/keys", {"pem": public_pem(second)})
    [replaced] = events(app, AuditAction.KEY_REPLACED)
    assert replaced["target"] == second_print and replaced["created_at"] == clock.current
    assert replaced["details"]["replaced"] == [first_print]
    assert replaced["details"]["key_type"] == "P-256"

    before = count(app)  # pasting the current key again changes nothing
    post_settings(client, SECURITY, f"{SECURITY}/keys", {"pem": public_pem(second)})
    assert count(app) == before


def test_a_refused_change_leaves_no_event(app, client, admin, app_id):
    before = count(app)
    refused = post_settings(
        client, SECURITY, f"{SECURITY}/keys", {"pem": private_pem(make_private_key("Ed25519"))}
    )
    assert refused.status_code == 422
    bad_origins = post_settings(
        client, INSTALLATION, f"{INSTALLATION}/origins", {"origins": "shop.example.com"}
    )
    assert bad_origins.status_code == 422
    last_admin = post_team(client, f"{TEAM}/{operator_id(app, admin)}/role", {"role": "agent"})
    assert last_admin.status_code == 303  # refused: the reason is flashed on the team page
    assert "The last admin cannot stop being an admin." in client.get(TEAM).get_data(as_text=True)
    duplicate = post_team(
        client,
        TEAM,
        {"email": admin, "name": "Again", "role": "agent", "password": "sekret-pass"},
    )
    assert duplicate.status_code == 422
    assert count(app) == before


def test_a_post_without_its_csrf_token_changes_nothing_and_records_nothing(
    app, client, admin, app_id
):
    before = count(app)
    fields = settings_form_fields(client, SECURITY)
    response = client.post(
        f"{SECURITY}/keys",
        data={"workspace": fields["workspace"], "pem": public_pem(make_private_key("Ed25519"))},
    )
    assert response.status_code == 400
    response = client.post(
        TEAM, data={"email": "x@example.com", "role": "agent", "password": "sekret-pass"}
    )
    assert response.status_code == 400
    assert count(app) == before


def test_revoking_a_key_records_the_sessions_it_ended(app, client, admin, app_id, clock):
    key = make_private_key("Ed25519")
    post_settings(client, SECURITY, f"{SECURITY}/keys", {"pem": public_pem(key)})
    thumbprint = parse_spki_pem(public_pem(key)).thumbprint
    token = sign(key, {"id": "u1", "exp": int(clock.current.timestamp()) + 300})
    assert identify(client, app_id, {"jwt": token}).status_code == 200

    clock.advance(seconds=30)
    data = {"thumbprint": thumbprint, "confirm": "y"}
    assert post_settings(client, SECURITY, f"{SECURITY}/keys/revoke", data).status_code == 303
    [revoked] = events(app, AuditAction.KEY_REVOKED)
    assert revoked["target"] == thumbprint and revoked["created_at"] == clock.current
    assert revoked["actor"] == admin and revoked["address"] == ADDRESS
    assert revoked["details"] == {"key_type": "Ed25519", "was": "current", "sessions_ended": 1}

    post_settings(client, SECURITY, f"{SECURITY}/keys/revoke", data)  # revoked already
    assert len(events(app, AuditAction.KEY_REVOKED)) == 1


def test_require_jwt_is_recorded_each_time_it_moves(app, client, admin, app_id):
    assert identify(client, app_id, {"id": "u1"}).status_code == 200  # an unverified session
    path = f"{SECURITY}/require-jwt"
    post_settings(client, SECURITY, path, {"require_jwt": "y"})
    post_settings(client, SECURITY, path, {"require_jwt": "y"})  # already on: nothing moved
    post_settings(client, SECURITY, path, {})
    switched = events(app, AuditAction.REQUIRE_JWT)
    assert [e["details"] for e in switched] == [
        {"before": False, "after": True, "sessions_ended": 1},
        {"before": True, "after": False, "sessions_ended": 0},
    ]
    assert {e["workspace_id"] for e in switched} == {workspace_id(app, app_id)}
    assert {(e["actor"], e["address"]) for e in switched} == {(admin, ADDRESS)}


def test_origins_record_what_was_added_and_removed(app, client, admin, app_id):
    path = f"{INSTALLATION}/origins"
    post_settings(client, INSTALLATION, path, {"origins": "https://a.example\nhttps://b.example"})
    post_settings(client, INSTALLATION, path, {"origins": "https://b.example/\nHTTPS://B.example"})
    post_settings(client, INSTALLATION, path, {"origins": "https://b.example"})  # unchanged
    post_settings(client, INSTALLATION, path, {"origins": ""})
    changed = events(app, AuditAction.ORIGINS_CHANGED)
    assert [e["details"] for e in changed] == [
        {"added": ["https://a.example", "https://b.example"], "removed": [], "count": 2},
        {"added": [], "removed": ["https://a.example"], "count": 1},
        {"added": [], "removed": ["https://b.example"], "count": 0},
    ]
    assert {(e["actor"], e["address"]) for e in changed} == {(admin, ADDRESS)}


def test_operator_changes_on_the_team_page(app, client, admin):
    me = operator_id(app, admin)
    created = post_team(
        client,
        TEAM,
        {"email": "New@Example.com", "name": "New", "role": "agent", "password": "sekret-pass"},
    )
    assert created.status_code == 303
    new = operator_id(app, "new@example.com")
    post_team(client, f"{TEAM}/{new}/role", {"role": "admin"})
    post_team(client, f"{TEAM}/{new}/role", {"role": "admin"})  # no change
    post_team(client, f"{TEAM}/{new}/deactivate", {})
    post_team(client, f"{TEAM}/{new}/deactivate", {})  # deactivated already

    recorded = [e for e in events(app) if e["action"].startswith("operator.") and e["operator_id"]]
    assert [(e["action"], e["target"], e["details"]) for e in recorded] == [
        ("operator.created", "new@example.com", {"role": "agent", "name": "New"}),
        ("operator.role_changed", "new@example.com", {"before": "agent", "after": "admin"}),
        ("operator.disabled", "new@example.com", {"before": True, "after": False}),
    ]
    assert {(e["operator_id"], e["actor"], e["address"]) for e in recorded} == {
        (me, admin, ADDRESS)
    }
    assert all(e["workspace_id"] is None for e in recorded)  # installation-wide


def test_the_command_line_is_named_as_cli_and_its_user(app, runner, app_id, tmp_path):
    key = make_private_key("Ed25519")
    pem = tmp_path / "key.pem"
    pem.write_text(public_pem(key))
    assert runner.invoke(args=["keys", "add", app_id, str(pem)]).exit_code == 0
    thumbprint = parse_spki_pem(public_pem(key)).thumbprint
    assert runner.invoke(args=["keys", "revoke", app_id, thumbprint]).exit_code == 0
    assert runner.invoke(args=["workspace", "require-jwt", app_id, "on"]).exit_code == 0
    env = {"PROMPTIFY_PASSWORD": "sekret-pass"}
    assert runner.invoke(args=["operator", "create", "ops@example.com"], env=env).exit_code == 0
    with app.app_context():
        operators.deactivate(
            db.session.scalar(select(Operator).where(Operator.email == "ops@example.com"))
        )
    for change in (
        ["set-role", "ops@example.com", "admin"],
        ["enable", "ops@example.com"],
        ["reset-password", "ops@example.com"],
    ):
        assert runner.invoke(args=["operator", *change], env=env).exit_code == 0, change

    recorded = [e for e in events(app) if e["actor"].startswith("cli:")]
    assert [e["action"] for e in recorded] == [
        "key.added",
        "key.revoked",
        "workspace.require_jwt",
        "operator.created",
        "operator.role_changed",
        "operator.enabled",
        "operator.password_reset",
    ]
    assert {e["operator_id"] for e in recorded} == {None}
    assert {e["address"] for e in recorded} == {None}
    assert len({e["actor"] for e in recorded}) == 1
    [disabled] = events(app, AuditAction.OPERATOR_DISABLED)
    assert disabled["actor"] == "system"  # a service called without an actor still records


# --- sign-ins --------------------------------------------------------------------------------


def _sign_in(client, email: str, password: str):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_sign_ins_are_recorded_whether_they_succeed_or_not(app, client, clock):
    with app.app_context():
        operators.create_operator("ada@example.com", "Ada", "agent", PASSWORD, now=clock.current)
    ada = operator_id(app, "ada@example.com")
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    clock.advance(seconds=10)
    assert _sign_in(client, "ada@example.com", "wrong password").status_code == 401
    assert _sign_in(client, "  Nobody@Example.com ", PASSWORD).status_code == 401
    clock.advance(seconds=10)
    assert _sign_in(client, "Ada@example.com", PASSWORD).status_code == 303

    failed = events(app, AuditAction.SIGN_IN_FAILED)
    assert [(e["operator_id"], e["actor"], e["address"]) for e in failed] == [
        (ada, "ada@example.com", ADDRESS),
        (None, "nobody@example.com", ADDRESS),
    ]
    [succeeded] = events(app, AuditAction.SIGN_IN_SUCCEEDED)
    assert succeeded["operator_id"] == ada and succeeded["actor"] == "ada@example.com"
    assert succeeded["address"] == ADDRESS and succeeded["created_at"] == clock.current
    assert all(e["workspace_id"] is None and "password" not in str(e) for e in failed)


# --- the record is part of the change's transaction ------------------------------------------


def test_an_event_rolls_back_with_its_change_and_needs_a_write_transaction(app, clock):
    class Boom(Exception):
        pass

    with app.app_context():
        with pytest.raises(Boom), transaction.write():
            operator = Operator(
                email="gone@example.com",
                name="Gone",
                role="agent",
                password_hash="x",
                active=True,
                created_at=clock.current,
            )
            db.session.add(operator)
            audit.record(
                AuditAction.OPERATOR_CREATED,
                actor=audit.SYSTEM,
                now=clock.current,
                target="gone@example.com",
            )
            db.session.flush()  # both rows reached the database, inside the transaction
            raise Boom
        db.session.rollback()
        with pytest.raises(RuntimeError, match="inside the write transaction"):
            audit.record(AuditAction.OPERATOR_DISABLED, actor=audit.SYSTEM, now=clock.current)
        db.session.rollback()
    assert count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Operator)) == 0


def test_events_outlive_their_operator_and_workspace(app, clock):
    app_id = make_workspace(app)
    with app.app_context():
        ada = operators.create_operator("ada@example.com", "Ada", "admin", PASSWORD, now=clock())
        workspace = workspaces.find_workspace(app_id)
        assert workspace is not None
        actor = Actor(ada.id, ada.email, "198.51.100.2")
        workspaces.set_origins(workspace, ["https://a.example"], now=clock(), actor=actor)
        with transaction.write():
            db.session.execute(delete(Workspace))
            db.session.execute(delete(Operator))
    [changed] = events(app, AuditAction.ORIGINS_CHANGED)
    assert changed["operator_id"] is None and changed["workspace_id"] is None
    assert changed["actor"] == "ada@example.com" and changed["address"] == "198.51.100.2"


# --- the page ---------------------------------------------------------------------------------


def test_only_admins_see_the_page_and_the_download(app, client, login):
    assert client.get(PAGE).status_code == 302  # to the sign-in page
    assert client.get(CSV_URL).status_code == 302
    login("agent")
    assert client.get(PAGE).status_code == 403
    assert client.get(CSV_URL).status_code == 403
    assert client.get(f"{PAGE}?action=bogus").status_code == 403


def test_the_settings_navigation_links_the_page(client, admin):
    html = client.get(TEAM).get_data(as_text=True)
    assert f'href="{PAGE}"' in html
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "Audit log" in page.get_data(as_text=True)


def test_the_page_lists_events_newest_first_with_who_where_and_what(app, client, admin, clock):
    html = client.get(PAGE).get_data(as_text=True)
    ids = shown_ids(html)
    stored = events(app)
    assert ids == [e["id"] for e in reversed(stored)]  # operator.created, then the sign-in
    assert escape(admin) in html and ADDRESS in html
    assert "Signed in to the console" in html
    assert 'datetime="' + clock.current.strftime("%Y-%m-%dT%H:%M:%SZ") + '"' in html


def test_filters_by_action_operator_workspace_and_days(app, client, admin, app_id, clock):
    with app.app_context():
        second = workspaces.create_workspace("Second", [], now=clock.current).app_id
    first_ws, second_ws = workspace_id(app, app_id), workspace_id(app, second)
    me = operator_id(app, admin)
    day = datetime(2001, 3, 10, 12, tzinfo=UTC)  # long before the admin's own sign-in
    me_actor = Actor(me, admin, ADDRESS)
    early = add_event(app, day, AuditAction.KEY_ADDED, workspace_id=first_ws, actor=me_actor)
    middle = add_event(
        app, day + timedelta(days=1), AuditAction.KEY_REVOKED, workspace_id=second_ws
    )
    late = add_event(
        app, day + timedelta(days=2), AuditAction.ORIGINS_CHANGED, workspace_id=first_ws
    )

    def ids(query: str) -> list[int]:
        response = client.get(f"{PAGE}?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return shown_ids(response.get_data(as_text=True))

    assert ids("action=key.revoked") == [middle]
    assert ids(f"workspace={app_id}") == [late, early]
    assert ids(f"operator={me}&from=2001-01-01&to=2001-12-31") == [early]
    assert ids("from=2001-03-11&to=2001-03-11") == [middle]  # one whole day, inclusive
    assert ids("from=2001-03-11&to=2001-03-12") == [late, middle]
    assert ids("to=2001-03-10") == [early]
    assert ids("from=0001-01-01&to=2001-03-10") == [early]
    assert ids(f"workspace={app_id}&to=9999-12-31") == [late, early]  # no end in sight
    assert ids(f"action=key.added&workspace={second}") == []
    assert ids("operator=2147483647") == []  # in range, nobody: nothing


def test_days_are_the_admins_own(app, client, admin):
    with app.app_context():
        me = db.session.scalar(select(Operator).where(Operator.email == admin))
        assert me is not None
        operators.update_profile(me, time_zone="Asia/Tokyo")  # UTC+9
    late_evening_utc = datetime(2001, 3, 10, 20, tzinfo=UTC)  # already March 11 in Tokyo
    event = add_event(app, late_evening_utc, AuditAction.KEY_ADDED)
    html = client.get(f"{PAGE}?from=2001-03-11&to=2001-03-11").get_data(as_text=True)
    assert shown_ids(html) == [event] and "Asia/Tokyo" in html
    assert shown_ids(client.get(f"{PAGE}?to=2001-03-10").get_data(as_text=True)) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("action=key.stolen", "Choose an action from the list."),
        ("action=%3Cscript%3E", "Choose an action from the list."),
        ("operator=abc", "Choose an operator from the list."),
        ("operator=0", "Choose an operator from the list."),
        ("operator=-1", "Choose an operator from the list."),
        ("operator=99999999999999999999", "Choose an operator from the list."),
        ("operator=%EF%BC%91", "Choose an operator from the list."),  # a full-width digit
        ("workspace=app_nothing", "No workspace has this app id"),
        ("from=2026-02-30", "Enter the first day as YYYY-MM-DD"),
        ("from=yesterday", "Enter the first day as YYYY-MM-DD"),
        ("from=20260301", "Enter the first day as YYYY-MM-DD"),
        ("to=2026-03-01%00", "Enter the last day as YYYY-MM-DD"),
        ("from=2026-03-02&to=2026-03-01", "The last day is before the first day."),
        ("before=nonsense", "This page link is not valid"),
        ("before=1-99999999999", "This page link is not valid"),
        ("before=99999999999999999-1", "This page link is not valid"),
    ],
)
def test_bad_filters_answer_400_with_the_reason(client, admin, query, message):
    response = client.get(f"{PAGE}?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert str(escape(message)) in html and 'role="alert"' in html
    assert shown_ids(html) == []
    if not query.startswith("before="):
        download = client.get(f"{CSV_URL}?{query}")
        assert download.status_code == 400 and message in download.get_data(as_text=True)


def test_pages_are_keyset_pages_through_events_sharing_a_time(app, client, admin, clock):
    start = datetime(2026, 5, 1, 9, tzinfo=UTC)
    made = [
        add_event(app, start + timedelta(minutes=n // 40), AuditAction.KEY_ADDED, target=f"k{n}")
        for n in range(120)  # three times, forty events each
    ]
    newest_first = sorted(
        ((start + timedelta(minutes=n // 40), made[n]) for n in range(120)), reverse=True
    )
    expected = [event for _, event in newest_first]
    seen: list[int] = []
    url = f"{PAGE}?action=key.added"
    for _ in range(5):
        html = client.get(url).get_data(as_text=True)
        seen += shown_ids(html)
        older = re.search(r'href="([^"]*before=[^"]*)"', html)
        if older is None:
            break
        url = older.group(1).replace("&amp;", "&")
        assert "action=key.added" in url  # the filters stay on the next page
        add_event(app, start + timedelta(days=1), AuditAction.KEY_ADDED)  # newer: no shift
    assert seen == expected


def test_csv_holds_every_filtered_event_and_neutralises_formulas(app, client, admin, app_id):
    hostile = ['=HYPERLINK("http://evil.example")', "+1+1", "-2+3", "@SUM(A1)"]
    for typed in hostile:
        assert _sign_in(app.test_client(), typed, "wrong password").status_code == 401
    wid = workspace_id(app, app_id)
    key_event = add_event(
        app,
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        AuditAction.KEY_ADDED,
        workspace_id=wid,
        target="-starts-with-dash",
        details={"key_type": "Ed25519", "replaced": []},
    )

    response = client.get(f"{CSV_URL}?action=sign_in.failed")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == list(audit.CSV_COLUMNS)
    assert [row[2] for row in rows[1:]] == ["'" + t.lower() for t in reversed(hostile)]
    assert all(row[1] == "sign_in.failed" for row in rows[1:])

    rows = list(
        csv.reader(io.StringIO(client.get(f"{CSV_URL}?workspace={app_id}").get_data(as_text=True)))
    )
    assert len(rows) == 2
    assert rows[1][:8] == [
        "2026-01-02T03:04:05Z",
        "key.added",
        "cli:root",
        "",
        "",
        app_id,
        "'-starts-with-dash",
        "Added the Ed25519 key -starts-with…: it is current",
    ]
    assert rows[1][8] == '{"key_type": "Ed25519", "replaced": []}'
    assert key_event in [e["id"] for e in events(app)]


def test_csv_reads_every_page_of_events(app, clock):
    made = {add_event(app, clock.current, AuditAction.SIGN_IN_FAILED) for _ in range(7)}
    with app.app_context():
        found = [e.id for e in audit.all_events(audit.Filters(), batch=2)]
    assert sorted(found) == sorted(made) and found == sorted(found, reverse=True)


def test_every_field_is_escaped(app, client, admin, clock):
    with app.app_context():
        workspaces.create_workspace(XSS_SCRIPT, [], now=clock.current)
        hostile = operators.create_operator(
            "x@example.com", XSS_ATTR, "agent", PASSWORD, now=clock.current
        )
        operators.deactivate(hostile, now=clock.current, actor=Actor(None, XSS_SCRIPT, XSS_ATTR))
    with app.app_context():
        hostile_ws = db.session.scalar(select(Workspace.id).where(Workspace.name == XSS_SCRIPT))
    add_event(
        app,
        clock.current,
        AuditAction.KEY_ADDED,
        workspace_id=hostile_ws,
        target=XSS_ATTR,
        details={"key_type": XSS_SCRIPT, "note": XSS_ATTR},
    )
    _sign_in(app.test_client(), XSS_SCRIPT + "@example.com", "wrong password")

    response = client.get(PAGE)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert XSS_SCRIPT not in html and XSS_ATTR not in html
    assert "<img" not in html and "onerror=alert(1)>" not in html
    assert str(escape(XSS_SCRIPT)) in html  # shown, as text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


# --- retention -------------------------------------------------------------------------------


def test_retention_keeps_the_audit_log_at_least_a_year(app, runner, clock):
    now = clock.current
    ages = {
        days: add_event(app, now - timedelta(days=days), AuditAction.KEY_ADDED)
        for days in (1, 364, 366, 399, 401)
    }

    def kept() -> set[int]:
        return {e["id"] for e in events(app)}

    app.config["AUDIT_RETENTION_DAYS"] = 30  # too short: a year it is
    assert Policy.from_config(app.config).audit_retention == timedelta(days=365)
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and "audit_events\t3" in result.stdout
    assert kept() == {ages[1], ages[364]}

    for days in (366, 399, 401):
        ages[days] = add_event(app, now - timedelta(days=days), AuditAction.KEY_ADDED)
    app.config["AUDIT_RETENTION_DAYS"] = 400  # the default
    assert Policy.from_config(
        {**app.config, "AUDIT_RETENTION_DAYS": "400"}
    ).audit_retention == timedelta(days=400)
    assert "audit_events\t1" in runner.invoke(args=["purge"]).stdout
    assert kept() == {ages[1], ages[364], ages[366], ages[399]}
