"""`promptify backup` and `promptify restore` (docs/operations.md, "Backups"): one archive of the
database and the instance folder; restored into an empty database and a fresh instance folder,
the installation works with the same logins, widget sessions and keys."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from promptify import clock as app_clock
from promptify import create_app
from promptify.extensions import db
from promptify.models import Contact, Conversation, SigningKey
from promptify.services import operators
from tests.conftest import (
    _create_postgres_database,
    _drop_postgres_database,
    _empty_all_tables,
    _migrate,
    csrf_token_from,
)
from tests.factories import add_key, identify, make_private_key, make_workspace

ORIGIN = "https://app.acme.test"


@pytest.fixture
def empty_database_url(database_url, tmp_path) -> Iterator[str]:
    """A second, empty database of the same backend: where a backup is restored."""
    if make_url(database_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite'}"
        return
    url = _create_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(url)


def _installation(database_url: str, instance: Path, monkeypatch) -> Flask:  # type: ignore[no-untyped-def]
    """An app as `promptify` builds it: its secret key generated into the instance folder."""
    monkeypatch.setenv("PROMPTIFY_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("PROMPTIFY_SECRET_KEY", raising=False)
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False})


def _fill(app: Flask) -> dict:
    """A workspace with a key, an operator signed in, a visitor with a session and a message."""
    app_id = make_workspace(app, origins=[ORIGIN])
    add_key(app, app_id, make_private_key("Ed25519"))
    with app.app_context():
        operators.create_operator(
            "ada@example.com", "Ada", "admin", "a long password", now=app_clock.now()
        )
    console = app.test_client()
    token = csrf_token_from(console.get("/login").get_data(as_text=True))
    signed_in = console.post(
        "/login",
        data={"email": "ada@example.com", "password": "a long password", "csrf_token": token},
    )
    assert signed_in.status_code == 303
    widget = app.test_client()
    session = identify(widget, app_id, {"id": "u1", "name": "Uma"}, Origin=ORIGIN).json["session"]
    started = widget.post(
        f"/widget/v1/apps/{app_id}/conversations",
        json={"body": "Backed up?"},
        headers={"X-Promptify-Session": session, "Origin": ORIGIN},
    )
    assert started.status_code == 201
    return {"app_id": app_id, "console": console, "session": session}


def _counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Contact)) or 0,
            db.session.scalar(select(func.count()).select_from(Conversation)) or 0,
            db.session.scalar(select(func.count()).select_from(SigningKey)) or 0,
        )


def test_a_restored_installation_keeps_logins_sessions_and_keys(
    database_url, empty_database_url, tmp_path, monkeypatch
):
    source = _installation(database_url, tmp_path / "instance", monkeypatch)
    with source.app_context():
        _empty_all_tables()  # the backend's shared test database may hold another test's rows
    state = _fill(source)
    archive = tmp_path / "backup.tar.gz"
    result = source.test_cli_runner().invoke(args=["backup", str(archive)])
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert "instance/secret_key" in names
    assert manifest["backend"] == make_url(database_url).get_backend_name()
    assert manifest["schema"]

    restored = _installation(empty_database_url, tmp_path / "fresh-instance", monkeypatch)
    assert (
        not (tmp_path / "fresh-instance" / "secret_key").read_text()
        == (tmp_path / "instance" / "secret_key").read_text()
    )  # the new app generated its own key before the restore
    restored_again = restored.test_cli_runner().invoke(args=["restore", str(archive), "--force"])
    assert restored_again.exit_code == 0, restored_again.output
    restored = _installation(empty_database_url, tmp_path / "fresh-instance", monkeypatch)
    assert _counts(restored) == _counts(source)

    console = restored.test_client()
    session_cookie = state["console"].get_cookie("session")  # the operator's browser, unchanged
    assert session_cookie is not None
    console.set_cookie("session", session_cookie.value)
    assert console.get("/inbox").status_code == 200  # still signed in
    listed = restored.test_client().get(
        f"/widget/v1/apps/{state['app_id']}/conversations",
        headers={"X-Promptify-Session": state["session"], "Origin": ORIGIN},
    )
    assert listed.status_code == 200 and listed.json["conversations"][0]["preview"] == "Backed up?"
    for app in (source, restored):
        with app.app_context():
            db.engine.dispose()


def test_restore_refuses_a_database_that_holds_anything(
    database_url, empty_database_url, tmp_path, monkeypatch
):
    source = _installation(database_url, tmp_path / "instance", monkeypatch)
    with source.app_context():
        _empty_all_tables()
    _fill(source)
    archive = tmp_path / "backup.tar.gz"
    assert source.test_cli_runner().invoke(args=["backup", str(archive)]).exit_code == 0
    refused = source.test_cli_runner().invoke(args=["restore", str(archive)])
    assert refused.exit_code != 0
    assert "not empty" in refused.output and "--force" in refused.output
    target = _installation(empty_database_url, tmp_path / "other-instance", monkeypatch)
    _migrate(empty_database_url)
    refused_instance = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert refused_instance.exit_code != 0 and "secret_key" in refused_instance.output
    for app in (source, target):
        with app.app_context():
            db.engine.dispose()


def test_a_backup_is_written_whole_or_not_at_all(database_url, tmp_path, monkeypatch):
    source = _installation(database_url, tmp_path / "instance", monkeypatch)
    archive = tmp_path / "missing-folder" / "backup.tar.gz"
    result = source.test_cli_runner().invoke(args=["backup", str(archive)])
    assert result.exit_code != 0
    assert not archive.exists() and not list(tmp_path.glob("**/*.partial"))
    with source.app_context():
        db.engine.dispose()


def test_db_upgrade_refuses_a_schema_newer_than_the_code(database_url, tmp_path, monkeypatch):
    from promptify.services.schema import code_head

    scratch = (
        f"sqlite:///{tmp_path / 'newer.sqlite'}"
        if make_url(database_url).get_backend_name() == "sqlite"
        else _create_postgres_database()
    )
    try:
        _migrate(scratch)
        engine = create_engine(scratch)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        app = _installation(scratch, tmp_path / "instance", monkeypatch)
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code != 0
        assert "newer release" in str(result.exception) + result.output
        assert code_head() in str(result.exception) + result.output
        with engine.connect() as connection:
            assert (
                connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                == "9999"
            )
        engine.dispose()
        with app.app_context():
            db.engine.dispose()
    finally:
        if not scratch.startswith("sqlite"):
            _drop_postgres_database(scratch)
