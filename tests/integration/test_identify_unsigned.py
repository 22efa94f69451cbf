"""Anonymous and unsigned identification through the HTTP API, on every backend."""

from __future__ import annotations

import pytest

from tests.factories import identify, make_workspace, stored_contacts

SEED_PAYLOAD = {
    "id": "user-123",
    "email": "jane@example.com",
    "name": "Jane Doe",
    "avatarUrl": "https://example.com/avatar.jpg",
    "attrs": {"plan": "pro", "active": True},
    "organizations": [{"id": "org-456", "name": "Acme Corp", "attrs": {"industry": "SaaS"}}],
}


@pytest.fixture
def app_id(app):
    return make_workspace(app)


def test_seed_example_is_accepted_as_documented(client, app_id):
    response = identify(client, app_id, SEED_PAYLOAD)
    assert response.status_code == 200, response.json
    assert response.json["contact"] == {
        "id": "user-123",
        "anonymous": False,
        "verified": False,
        "email": "jane@example.com",
        "name": "Jane Doe",
        "avatarUrl": "https://example.com/avatar.jpg",
        "attrs": {"active": True, "plan": "pro"},
        "organizations": [{"id": "org-456", "name": "Acme Corp", "attrs": {"industry": "SaaS"}}],
    }
    assert len(response.json["session"]) >= 22  # ≥ 128 bits, url-safe


def test_anonymous_visitor_is_tracked_by_session(client, app, app_id):
    first = identify(client, app_id, {"id": None})
    assert first.status_code == 200
    assert first.json["contact"]["anonymous"] is True and first.json["contact"]["id"] is None
    again = identify(client, app_id, {"id": None}, session=first.json["session"])
    assert again.json["session"] == first.json["session"]
    assert len(stored_contacts(app)) == 1


def test_anonymous_visitor_may_leave_an_email(client, app, app_id):
    first = identify(
        client, app_id, {"id": None, "email": "visitor@example.com", "attrs": {"source": "ad"}}
    )
    assert first.status_code == 200
    assert first.json["contact"]["email"] == "visitor@example.com"
    assert first.json["contact"]["attrs"] == {"source": "ad"}


def test_anonymous_visitor_cannot_have_organizations(client, app, app_id):
    response = identify(client, app_id, {"id": None, "organizations": []})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_field"
    assert response.json["error"]["field"] == "organizations"
    assert stored_contacts(app) == []


def test_unknown_or_foreign_session_gives_a_new_anonymous_contact(client, app, app_id):
    other_app = make_workspace(app)
    foreign = identify(client, other_app, {"id": None}).json["session"]
    response = identify(client, app_id, {"id": None}, session=foreign)
    assert response.json["session"] != foreign
    unknown = identify(client, app_id, {"id": None}, session="not-a-session")
    assert unknown.json["session"] not in (foreign, "not-a-session")
    assert len(stored_contacts(app)) == 3


def test_integer_id_is_the_same_user_as_its_string(client, app, app_id):
    first = identify(client, app_id, {"id": 123, "name": "Ann"})
    assert first.json["contact"]["id"] == "123"
    second = identify(client, app_id, {"id": "123"}, session=first.json["session"])
    assert second.json["session"] == first.json["session"]
    assert second.json["contact"]["name"] == "Ann"
    assert len(stored_contacts(app)) == 1


def test_null_clears_and_absent_keeps(client, app_id):
    identify(client, app_id, {"id": "u1", "email": "a@example.com", "name": "Ann"})
    response = identify(client, app_id, {"id": "u1", "email": None})
    assert response.json["contact"]["email"] is None
    assert response.json["contact"]["name"] == "Ann"


def test_attrs_merge_and_null_deletes(client, app_id):
    identify(client, app_id, {"id": "u1", "attrs": {"plan": "pro", "seats": 3}})
    response = identify(client, app_id, {"id": "u1", "attrs": {"seats": None, "trial": False}})
    assert response.json["contact"]["attrs"] == {"plan": "pro", "trial": False}


def test_fifty_attrs_after_the_merge_is_the_limit(client, app, app_id):
    identify(client, app_id, {"id": "u1", "attrs": {f"k{i}": i for i in range(40)}})
    ok = identify(client, app_id, {"id": "u1", "attrs": {f"n{i}": i for i in range(10)}})
    assert ok.status_code == 200 and len(ok.json["contact"]["attrs"]) == 50
    before = stored_contacts(app)
    refused = identify(client, app_id, {"id": "u1", "attrs": {"one_more": 1}})
    assert refused.status_code == 422
    assert refused.json["error"] == {
        "code": "too_many_attrs",
        "message": refused.json["error"]["message"],
        "field": "attrs",
    }
    assert stored_contacts(app) == before


def test_deleting_makes_room_for_new_attrs(client, app_id):
    identify(client, app_id, {"id": "u1", "attrs": {f"k{i}": i for i in range(50)}})
    response = identify(client, app_id, {"id": "u1", "attrs": {"k0": None, "fresh": "yes"}})
    assert response.status_code == 200
    assert (
        "fresh" in response.json["contact"]["attrs"]
        and "k0" not in response.json["contact"]["attrs"]
    )


def test_organizations_are_the_complete_list(client, app, app_id):
    orgs = [{"id": f"o{i}", "name": f"Org {i}"} for i in range(3)]
    identify(client, app_id, {"id": "u1", "organizations": orgs})
    identify(client, app_id, {"id": "u2", "organizations": orgs[:1]})
    response = identify(client, app_id, {"id": "u1", "organizations": orgs[1:]})
    assert [o["id"] for o in response.json["contact"]["organizations"]] == ["o1", "o2"]
    # the organization the user left still exists for its other member
    other = identify(client, app_id, {"id": "u2"})
    assert [o["id"] for o in other.json["contact"]["organizations"]] == ["o0"]
    absent = identify(client, app_id, {"id": "u1", "name": "Still here"})
    assert len(absent.json["contact"]["organizations"]) == 2
    emptied = identify(client, app_id, {"id": "u1", "organizations": []})
    assert emptied.json["contact"]["organizations"] == []


def test_organizations_dedupe_last_wins_and_attrs_merge(client, app_id):
    identify(
        client,
        app_id,
        {
            "id": "u1",
            "organizations": [{"id": 7, "name": "Acme", "attrs": {"tier": "gold", "x": 1}}],
        },
    )
    response = identify(
        client,
        app_id,
        {
            "id": "u1",
            "organizations": [
                {"id": "7", "name": "Old"},
                {"id": 7, "name": "Acme Inc", "attrs": {"x": None}},
            ],
        },
    )
    assert response.json["contact"]["organizations"] == [
        {"id": "7", "name": "Acme Inc", "attrs": {"tier": "gold"}}
    ]


@pytest.mark.parametrize(("count", "status"), [(10, 200), (11, 422)])
def test_ten_organizations_is_the_limit(client, app, app_id, count, status):
    orgs = [{"id": f"o{i}", "name": f"Org {i}"} for i in range(count)]
    response = identify(client, app_id, {"id": "u1", "organizations": orgs})
    assert response.status_code == status
    if status == 422:
        assert response.json["error"]["code"] == "too_many_organizations"
        assert stored_contacts(app) == []


def test_organization_attrs_limit_after_merge_writes_nothing(client, app, app_id):
    identify(
        client,
        app_id,
        {
            "id": "u1",
            "organizations": [{"id": "o", "name": "O", "attrs": {f"a{i}": i for i in range(50)}}],
        },
    )
    before = stored_contacts(app)
    response = identify(
        client,
        app_id,
        {
            "id": "u1",
            "name": "New name",
            "organizations": [{"id": "o", "name": "O", "attrs": {"b": 1}}],
        },
    )
    assert response.status_code == 422
    assert response.json["error"]["code"] == "too_many_attrs"
    assert response.json["error"]["field"] == "organizations[0].attrs"
    assert stored_contacts(app) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": True}, "id"),
        ({"id": 1.5}, "id"),
        ({"id": ""}, "id"),
        ({"id": {}}, "id"),
        ({"id": []}, "id"),
        ({"id": "u", "email": "not-an-email"}, "email"),
        ({"id": "u", "avatarUrl": "http://example.com/a.png"}, "avatarUrl"),
        ({"id": "u", "avatarURL": "https://example.com/a.png"}, "avatarURL"),
        ({"id": "u", "name": ""}, "name"),
        ({"id": "u", "attrs": {"nested": {"a": 1}}}, "attrs.nested"),
        ({"id": "u", "organizations": [{"id": "o1"}]}, "organizations[0].name"),
        ({"email": "a@example.com"}, "id"),
    ],
)
def test_invalid_fields_are_refused_and_nothing_is_written(client, app, app_id, body, field):
    identify(client, app_id, {"id": "u", "name": "Before"})
    before = stored_contacts(app)
    response = identify(client, app_id, body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "invalid_field"
    assert response.json["error"]["field"] == field
    assert response.json["error"]["message"]
    assert stored_contacts(app) == before


def test_unchanged_identify_rewrites_nothing(client, app, app_id, clock):
    first = identify(client, app_id, SEED_PAYLOAD)
    before = stored_contacts(app)
    clock.advance(seconds=5)
    again = identify(client, app_id, SEED_PAYLOAD, session=first.json["session"])
    assert again.json == first.json
    assert stored_contacts(app) == before  # last_seen throttled too
    clock.advance(seconds=120)
    identify(client, app_id, SEED_PAYLOAD, session=first.json["session"])
    assert stored_contacts(app)[0]["last_seen_at"] == clock.current


def test_require_signed_identification_refuses_unsigned_users(client, app):
    app_id = make_workspace(app, require_jwt=True)
    refused = identify(client, app_id, {"id": "u1"})
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "jwt_required"
    anonymous = identify(client, app_id, {"id": None})
    assert anonymous.status_code == 200
    assert len(stored_contacts(app)) == 1


def test_unchanged_identify_issues_no_write_statement(client, app, app_id, clock):
    from tests.integration.test_inbox import count_statements

    payload = {
        "id": "big",
        "name": "Big",
        "attrs": {f"k{i}": f"v{i}" for i in range(50)},
        "organizations": [
            {"id": f"o{i}", "name": f"Org {i}", "attrs": {"n": i}} for i in range(10)
        ],
    }
    session = identify(client, app_id, payload).json["session"]
    clock.advance(seconds=5)
    with count_statements(app) as statements:
        assert identify(client, app_id, payload, session=session).status_code == 200
    writes = [
        s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert len(statements) <= 12  # a fixed, small number of reads


def test_page_url_is_recorded_with_the_throttled_last_seen(client, app, app_id, clock):
    from promptify.extensions import db
    from promptify.models import Contact

    def last_page():
        with app.app_context():
            return db.session.query(Contact).one().last_page_url

    session = identify(
        client, app_id, {"id": "u1"}, **{"X-Promptify-Page-Url": "https://app.test/a"}
    ).json["session"]
    assert last_page() == "https://app.test/a"
    clock.advance(seconds=5)
    identify(
        client,
        app_id,
        {"id": "u1"},
        session=session,
        **{"X-Promptify-Page-Url": "https://app.test/b"},
    )
    assert last_page() == "https://app.test/a"  # page-to-page browsing writes nothing
    clock.advance(seconds=61)
    identify(
        client,
        app_id,
        {"id": "u1"},
        session=session,
        **{"X-Promptify-Page-Url": "https://app.test/c"},
    )
    assert last_page() == "https://app.test/c"


def test_saving_origins_that_are_already_allowed(app):
    from promptify.extensions import db
    from promptify.services import workspaces

    app_id = make_workspace(app, origins=["https://a.test"])
    with app.app_context():
        workspace = workspaces.get_workspace(app_id)
        workspaces.set_origins(workspace, ["https://a.test", "https://b.test"])
        workspaces.set_origins(workspace, ["https://b.test/", "https://c.test"])
        db.session.expire_all()
        assert [o.origin for o in workspaces.get_workspace(app_id).origins] == [
            "https://b.test",
            "https://c.test",
        ]
