"""Widget API transport rules: error envelope, body limits, media type, CORS, unknown apps, health."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from promptify.extensions import db
from promptify.models import IdentifyFailure
from tests.factories import identify, make_workspace, stored_contacts

ORIGIN = "https://app.acme.test"


@pytest.fixture
def app_id(app):
    return make_workspace(app, origins=[ORIGIN])


def _post_raw(client, app_id, data, content_type="application/json", **headers):
    return client.post(
        f"/widget/v1/apps/{app_id}/identify", data=data, content_type=content_type, headers=headers
    )


def _assert_envelope(response, status, code):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert set(response.json) == {"error"}
    assert set(response.json["error"]) == {"code", "message", "field"}
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"[]",
        b'"x"',
        b"null",
        b"42",
        b'{"id": NaN}',
        b'{"id": 1, "id": 2}',
        b"\xef\xbb\xbf{}",
        '{"id": "x"}'.encode("utf-16"),
        b'{"id": "\\ud800"}',
        b"[" * 100_00 + b"]" * 100_00,
    ],
)
def test_unparsable_or_non_object_bodies_are_invalid_json(client, app, app_id, raw):
    _assert_envelope(_post_raw(client, app_id, raw), 400, "invalid_json")
    assert stored_contacts(app) == []


def test_other_content_types_are_refused_with_415(client, app_id):
    _assert_envelope(
        _post_raw(client, app_id, b'{"id": null}', "text/plain"), 415, "unsupported_media_type"
    )
    _assert_envelope(
        _post_raw(client, app_id, b"id=1", "application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type",
    )


def test_charset_parameter_is_accepted(client, app_id):
    assert (
        _post_raw(client, app_id, b'{"id": null}', "application/json; charset=utf-8").status_code
        == 200
    )


@pytest.mark.parametrize(("size", "status"), [(64 * 1024, 422), (64 * 1024 + 1, 413)])
def test_body_limit_is_64_kib(client, app, app_id, size, status):
    prefix = b'{"id": "u", "name": "'
    body = prefix + b"a" * (size - len(prefix) - 2) + b'"}'
    assert len(body) == size
    response = _post_raw(client, app_id, body)
    # at the limit the body is read and judged on its merits (a 64 KiB name is too long)
    _assert_envelope(response, status, "invalid_field" if status == 422 else "payload_too_large")
    assert stored_contacts(app) == []


@pytest.mark.parametrize(("size", "status"), [(64 * 1024, 422), (64 * 1024 + 1, 413)])
def test_a_chunked_body_obeys_the_same_limit(client, app, app_id, size, status):
    """No Content-Length (Transfer-Encoding: chunked): refused past 64 KiB, never cut and read."""
    prefix = b'{"id": "u", "name": "'
    body = prefix + b"a" * (size - len(prefix) - 2) + b'"}'
    response = client.post(
        f"/widget/v1/apps/{app_id}/identify",
        input_stream=io.BytesIO(body),
        headers={
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
            "Origin": ORIGIN,
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    _assert_envelope(response, status, "invalid_field" if status == 422 else "payload_too_large")
    assert response.headers.get("Access-Control-Allow-Origin") == ORIGIN  # readable by the page
    assert stored_contacts(app) == []


def test_a_small_chunked_body_is_read_whole(client, app, app_id):
    response = client.post(
        f"/widget/v1/apps/{app_id}/identify",
        input_stream=io.BytesIO(b'{"id": "chunked-user"}'),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 200 and response.json["contact"]["id"] == "chunked-user"


def test_unknown_app_is_404_unknown_app(client):
    _assert_envelope(identify(client, "app_doesnotexist00000000", {"id": None}), 404, "unknown_app")


def test_unknown_widget_route_and_method_speak_json(client, app_id):
    _assert_envelope(client.get("/widget/v1/nope"), 404, "not_found")
    response = client.get(f"/widget/v1/apps/{app_id}/identify")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"


def test_allowed_origin_gets_cors_headers(client, app_id):
    response = identify(client, app_id, {"id": None}, Origin=ORIGIN)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_preflight_for_allowed_origin(client, app_id):
    response = client.options(
        f"/widget/v1/apps/{app_id}/identify",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-promptify-session",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Promptify-Session" in response.headers["Access-Control-Allow-Headers"]


def test_other_origin_is_refused_and_logged(client, app, app_id):
    evil = "https://evil.test"
    response = identify(client, app_id, {"id": "u1"}, Origin=evil)
    _assert_envelope(response, 403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options(f"/widget/v1/apps/{app_id}/identify", headers={"Origin": evil})
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert stored_contacts(app) == []
    with app.app_context():
        failures = db.session.scalars(select(IdentifyFailure).order_by(IdentifyFailure.id)).all()
        # the preflight too: a browser never sends the POST after it, so it is all an admin would see
        assert [(f.code, f.origin) for f in failures] == [("origin_not_allowed", evil)] * 2


def test_request_without_origin_is_allowed(client, app_id):
    assert identify(client, app_id, {"id": None}).status_code == 200


def test_empty_origin_list_allows_any_origin(client, app):
    open_app = make_workspace(app)
    response = identify(client, open_app, {"id": None}, Origin="https://anything.test")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://anything.test"


def test_failures_are_recorded_with_code_message_field(client, app, app_id):
    identify(client, app_id, {"id": "u", "avatarURL": "https://x.test/a.png"}, Origin=ORIGIN)
    _post_raw(client, app_id, b"{", Origin=ORIGIN)
    with app.app_context():
        failures = db.session.scalars(select(IdentifyFailure).order_by(IdentifyFailure.id)).all()
        assert [(f.code, f.field, f.origin) for f in failures] == [
            ("invalid_field", "avatarURL", ORIGIN),
            ("invalid_json", None, ORIGIN),
        ]
        assert "avatarUrl" in failures[0].message  # the typo hint


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_responses_are_not_cached(client, app_id):
    assert identify(client, app_id, {"id": None}).headers["Cache-Control"] == "no-store"


def test_body_json_sent_by_browsers_round_trips(client, app_id):
    raw = json.dumps({"id": "ünï-✓", "name": "Zoë 🚀"}, ensure_ascii=False).encode()
    response = _post_raw(client, app_id, raw)
    assert response.status_code == 200
    assert response.json["contact"]["id"] == "ünï-✓"
