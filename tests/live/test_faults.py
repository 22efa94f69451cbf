"""Database faults: unreachable → 503 `unavailable` with the envelope, nothing half-written, and
recovery without a restart once the database is back."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from promptify import create_app
from promptify.extensions import db
from promptify.models import Contact, Membership
from tests.conftest import PG_ADMIN_URL
from tests.factories import make_workspace


def test_unreachable_database_answers_503_with_the_envelope(tmp_path, database_url):
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'missing-dir' / 'promptify.sqlite'}"
    else:
        url = make_url(database_url).set(port=1).render_as_string(hide_password=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    client = app.test_client()
    response = client.post("/widget/v1/apps/app_whatever00000000000/identify", json={"id": "u1"})
    assert response.status_code == 503
    assert response.json["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"]
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["error"]["code"] == "unavailable"


def _terminate_connections(database: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"
            ),
            {"d": database},
        )
    admin.dispose()


@pytest.mark.postgresql_only  # an embedded SQLite file has no server to restart
def test_database_restart_mid_load_gives_503_then_recovers(app, live_server, database_url):
    app_id = make_workspace(app)
    organizations = [{"id": f"o{i}", "name": f"Org {i}"} for i in range(10)]
    results: list[requests.Response] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            body = {"id": f"w{worker}-{n}", "organizations": organizations}
            results.append(
                requests.post(
                    f"{live_server}/widget/v1/apps/{app_id}/identify", json=body, timeout=30
                )
            )

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(30):  # "restart" until at least one request was caught mid-flight
        time.sleep(0.3)
        _terminate_connections(make_url(database_url).database)
        if any(r.status_code == 503 for r in list(results)):
            break
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    statuses = {r.status_code for r in results}
    assert statuses == {200, 503}, statuses
    assert all(r.json()["error"]["code"] == "unavailable" for r in results if r.status_code == 503)
    assert len(results) > 20
    # recovered without a restart
    after = [
        requests.post(
            f"{live_server}/widget/v1/apps/{app_id}/identify", json={"id": f"after-{i}"}, timeout=30
        )
        for i in range(6)
    ]
    assert [r.status_code for r in after] == [200] * 6
    with app.app_context():  # never half-written: every stored contact has all ten memberships
        counts = db.session.execute(
            select(Contact.external_id, func.count(Membership.organization_id))
            .outerjoin(Membership, Membership.contact_id == Contact.id)
            .where(Contact.external_id.like("w%"))
            .group_by(Contact.external_id)
        ).all()
        assert counts and all(count == 10 for _, count in counts)
