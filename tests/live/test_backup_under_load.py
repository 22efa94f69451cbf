"""A backup taken while gunicorn (2 workers) serves a loop of identifies and messages restores
into an empty database and a fresh instance folder (docs/operations.md, "Backups"): every write
acknowledged before the backup began is there, and the restored installation serves the same
widget sessions and console sign-ins."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.engine import make_url

from promptify import clock as app_clock
from promptify import create_app
from promptify.extensions import db
from promptify.models import Contact, Message
from promptify.services import operators
from tests.conftest import _create_postgres_database, _drop_postgres_database, csrf_token_from
from tests.factories import make_workspace


@pytest.fixture
def empty_database_url(database_url, tmp_path) -> Iterator[str]:
    if make_url(database_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    url = _create_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(url)


def test_a_backup_under_load_restores_every_acknowledged_write(
    app, live_server, database_url, empty_database_url, tmp_path, monkeypatch
):
    app_id = make_workspace(app)
    with app.app_context():
        operators.create_operator(
            "ada@example.com", "Ada", "admin", "a long password", now=app_clock.now()
        )
    browser = requests.Session()
    token = csrf_token_from(browser.get(f"{live_server}/login", timeout=10).text)
    assert (
        browser.post(
            f"{live_server}/login",
            data={"email": "ada@example.com", "password": "a long password", "csrf_token": token},
            allow_redirects=False,
            timeout=10,
        ).status_code
        == 303
    )
    api = f"{live_server}/widget/v1/apps/{app_id}"
    acknowledged: list[tuple[float, str, str]] = []  # (when, visitor id, message body)
    sessions: dict[str, str] = {}
    stop = threading.Event()

    def load(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            user = f"w{worker}-{n}"
            answer = requests.post(f"{api}/identify", json={"id": user}, timeout=30)
            if answer.status_code != 200:
                continue
            session = answer.json()["session"]
            body = f"message {n} of worker {worker}"
            started = requests.post(
                f"{api}/conversations",
                json={"body": body},
                headers={"X-Promptify-Session": session},
                timeout=30,
            )
            if started.status_code == 201:
                acknowledged.append((time.monotonic(), user, body))
                sessions[user] = session

    workers = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for worker in workers:
        worker.start()
    while len(acknowledged) < 20:
        time.sleep(0.05)
    backup_began = time.monotonic()
    archive = tmp_path / "under-load.tar.gz"
    result = app.test_cli_runner().invoke(args=["backup", str(archive)])
    while len([a for a in acknowledged if a[0] > backup_began]) < 10:
        time.sleep(0.05)  # the load went on while the backup ran
    stop.set()
    for worker in workers:
        worker.join(timeout=30)
    assert result.exit_code == 0, result.output
    before_backup = [a for a in acknowledged if a[0] < backup_began]

    monkeypatch.setenv("PROMPTIFY_INSTANCE_PATH", str(tmp_path / "fresh-instance"))
    restored = create_app(
        {"SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "live-test"}
    )
    restore = restored.test_cli_runner().invoke(args=["restore", str(archive)])
    assert restore.exit_code == 0, restore.output
    with restored.app_context():
        contacts = set(db.session.scalars(select(Contact.external_id)))
        bodies = set(db.session.scalars(select(Message.body)))
    missing = [a for a in before_backup if a[1] not in contacts or a[2] not in bodies]
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:3]}"

    client = restored.test_client()
    _, user, body = before_backup[0]
    listed = client.get(
        f"/widget/v1/apps/{app_id}/conversations", headers={"X-Promptify-Session": sessions[user]}
    )
    assert listed.status_code == 200 and listed.json["conversations"][0]["preview"] == body
    console = restored.test_client()
    console.set_cookie("session", browser.cookies["session"])
    same_browser = {"User-Agent": browser.headers["User-Agent"]}  # sessions are bound to it
    assert console.get("/inbox", headers=same_browser).status_code == 200  # still signed in
    with restored.app_context():
        db.engine.dispose()
