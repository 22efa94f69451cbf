"""Where the database schema stands against this code's migrations (docs/operations.md,
"Upgrades"): up to date, behind (`promptify db upgrade` applies the rest), or ahead (a newer
release migrated it; this code must not touch it)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from promptify.services.backup import schema_revision

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


class SchemaState(StrEnum):
    EMPTY = "empty"  # no schema yet: `promptify db upgrade` creates it
    CURRENT = "current"
    BEHIND = "behind"  # migrations pending
    NEWER = "newer"  # a revision this code does not know: written by a newer release


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def code_head() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


def state_of(revision: str | None) -> SchemaState:
    if revision is None:
        return SchemaState.EMPTY
    scripts = _scripts()
    try:
        scripts.get_revision(revision)
    except CommandError:
        return SchemaState.NEWER
    return SchemaState.CURRENT if revision == scripts.get_current_head() else SchemaState.BEHIND


def state(database_url: str) -> tuple[SchemaState, str | None]:
    revision = schema_revision(database_url)
    return state_of(revision), revision


def newer_schema_message(revision: str) -> str:
    return (
        f"The database schema is at revision {revision}, which this version of Promptify does "
        f"not know (its newest is {code_head()}): a newer release has migrated it. Run that "
        "release, or restore a backup taken before the upgrade; nothing was changed."
    )
