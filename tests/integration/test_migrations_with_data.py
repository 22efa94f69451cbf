"""Every migration upgrades a database that holds data (docs/operations.md, "Upgrades"): from
the first revision, each step runs on tables the data generator (bench/datagen.py, which writes
only columns every revision has) filled at the revision before, and no row is lost on the way.
At the newest revision the app serves the migrated data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.command import upgrade
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.datagen import generate
from promptify import create_app
from promptify.extensions import db
from promptify.services.schema import MIGRATIONS
from tests.conftest import _create_postgres_database, _drop_postgres_database

TABLES = ("workspace", "contact", "organization", "membership", "conversation", "message")


@pytest.fixture
def scratch_url(database_url, tmp_path) -> Iterator[str]:
    if make_url(database_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'upgrade.sqlite'}"
        return
    url = _create_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(url)


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in TABLES
            }
    finally:
        engine.dispose()


def _conversations_without_last_author(url: str) -> int:
    """0005 derives who spoke last from the messages already there."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT count(*) FROM conversation c WHERE c.last_author IS NULL "
                    "AND EXISTS (SELECT 1 FROM message m WHERE m.conversation_id = c.id)"
                )
            ).scalar_one()
    finally:
        engine.dispose()


def _revisions() -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    walk = list(ScriptDirectory.from_config(config).walk_revisions())
    return [script.revision for script in reversed(walk)]


def test_each_migration_keeps_the_data_of_the_revision_before(scratch_url, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": scratch_url, "SECRET_KEY": "upgrade-test"})
    app.instance_path = str(tmp_path / "instance")
    revisions = _revisions()
    assert revisions[0] == "0001" and len(revisions) >= 6
    with app.app_context():
        alembic = app.extensions["migrate"].migrate.get_config()
        for number, revision in enumerate(revisions):
            upgrade(alembic, revision)
            db.engine.dispose()
            if revision == "0005":
                assert _conversations_without_last_author(scratch_url) == 0
            before = _counts(scratch_url)
            if number + 1 < len(revisions):
                generate(scratch_url, 300, 30, 400, seed=number)  # data as of this revision
                filled = _counts(scratch_url)
                assert filled["conversation"] == before["conversation"] + 400
                upgrade(alembic, revisions[number + 1])
                db.engine.dispose()
                assert _counts(scratch_url) == filled, (
                    f"rows lost upgrading to {revisions[number + 1]}"
                )
    # rows from before 0005 were derived by it, rows generated since carry the columns
    assert _conversations_without_last_author(scratch_url) == 0
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    with app.app_context():
        db.engine.dispose()
