"""Races across processes (gunicorn, 2 workers): the database constraints decide, not luck."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from promptify.extensions import db
from promptify.models import Contact, Membership, Organization
from tests.factories import make_workspace


def _fire_at_once(count: int, send) -> list[requests.Response]:
    barrier = threading.Barrier(count)

    def one(_: int) -> requests.Response:
        barrier.wait()
        return send()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_twenty_simultaneous_first_identifies_make_one_contact(app, live_server):
    app_id = make_workspace(app)
    body = {"id": "new-user", "name": "Ann", "organizations": [{"id": "o1", "name": "Org"}]}
    responses = _fire_at_once(
        20,
        lambda: requests.post(
            f"{live_server}/widget/v1/apps/{app_id}/identify", json=body, timeout=60
        ),
    )
    assert [r.status_code for r in responses] == [200] * 20, [
        r.text for r in responses if r.status_code != 200
    ]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 1
        assert db.session.scalar(select(func.count()).select_from(Organization)) == 1
        assert db.session.scalar(select(func.count()).select_from(Membership)) == 1


def test_one_jti_sent_by_24_clients_at_once_is_accepted_once(app, live_server):
    import time

    from tests.factories import add_key, make_private_key, sign

    app_id = make_workspace(app)
    key = make_private_key("Ed25519")
    add_key(app, app_id, key)
    token = sign(key, {"id": "user-1", "exp": int(time.time()) + 300, "jti": "once-only"})
    responses = _fire_at_once(
        24,
        lambda: requests.post(
            f"{live_server}/widget/v1/apps/{app_id}/identify", json={"jwt": token}, timeout=60
        ),
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * 23, [r.text for r in responses]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 401} == {
        "jwt_replayed"
    }
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 1


def test_chunked_bodies_past_64_kib_are_refused_by_gunicorn_too(app, live_server):
    """A real chunked upload (no Content-Length) is refused with 413 past the limit instead of
    being cut at 64 KiB and read; one under the limit is read whole."""
    app_id = make_workspace(app)

    def chunks(payload: bytes):  # a generator body makes requests send it chunked
        for start in range(0, len(payload), 8192):
            yield payload[start : start + 8192]

    def post(payload: bytes) -> requests.Response:
        return requests.post(
            f"{live_server}/widget/v1/apps/{app_id}/identify",
            data=chunks(payload),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )

    big = json.dumps({"id": "u-big", "attrs": {"a": "x" * 70_000}}).encode()
    refused = post(big)
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"]["code"] == "payload_too_large"
    accepted = post(json.dumps({"id": "u-chunked", "name": "Chunk"}).encode())
    assert accepted.status_code == 200 and accepted.json()["contact"]["id"] == "u-chunked"
