"""Races across processes (gunicorn, 2 workers): the database constraints decide, not luck."""

from __future__ import annotations

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
