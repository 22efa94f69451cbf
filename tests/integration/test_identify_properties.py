"""Property-based request bodies: never a 5xx, always the envelope, never a partial write."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptify.identity.errors import STATUS_BY_CODE
from tests.factories import identify, make_workspace, stored_contacts

KEYS = ["id", "email", "name", "avatarUrl", "attrs", "organizations", "jwt", "avatarURL"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**300),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.sampled_from(["https://example.com/a.png", "jane@example.com", "u1", "", "\x00", "a" * 256]),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=12)
        | st.dictionaries(st.text(max_size=70), children, max_size=55)
    ),
    max_leaves=60,
)
organization = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=5), st.integers(0, 20))},
    optional={
        "name": json_values,
        "attrs": st.dictionaries(st.text(max_size=65), scalars, max_size=55),
    },
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"id": st.one_of(st.none(), st.text(max_size=8), st.integers(0, 5))},
        optional={
            "email": json_values,
            "name": json_values,
            "avatarUrl": json_values,
            "attrs": st.dictionaries(st.text(max_size=65), scalars, max_size=55) | json_values,
            "organizations": st.lists(organization, max_size=13) | json_values,
            "jwt": json_values,
        },
    ),
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6),
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_any_body_gets_a_precise_answer_and_no_partial_write(app, client, body):
    app_id = _workspace(app)
    base = identify(client, app_id, {"id": "u1", "name": "Base", "attrs": {"a": 1}})
    assert base.status_code == 200
    before = stored_contacts(app)
    response = identify(client, app_id, body, session=base.json["session"])
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code == 200:
        assert set(response.json) == {"session", "contact", "verifiedUntil"}
        return
    error = response.json["error"]
    assert set(error) == {"code", "message", "field"}
    assert STATUS_BY_CODE[error["code"]] == response.status_code
    assert stored_contacts(app) == before


def _workspace(app):
    if "property_app_id" not in app.config:
        app.config["property_app_id"] = make_workspace(app)
    return app.config["property_app_id"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_get_the_envelope(app, client, raw):
    app_id = _workspace(app)
    response = client.post(
        f"/widget/v1/apps/{app_id}/identify", data=raw, content_type="application/json"
    )
    assert response.status_code < 500
    if response.status_code != 200:
        assert response.json["error"]["code"] in STATUS_BY_CODE
    else:
        assert isinstance(json.loads(raw), dict)
