"""Backups of a whole installation (docs/operations.md, "Backups"): one archive holding the
database and the instance folder, taken while the server keeps serving.

The archive is a gzipped tar: `manifest.json` (backend, schema revision, time), the database
(`database.sqlite` through SQLite's online backup API, or `database.pgdump` from `pg_dump`, both
consistent snapshots), and `instance/` (the generated secret key, `config.py`, the demo's keys)
without the SQLite files themselves. A secret key given in the environment is not in the
instance folder, so it stays the operator's to supply.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url

FORMAT = 1
DATABASE_MEMBERS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    format: int
    backend: str
    schema: str | None  # the Alembic revision of the database when it was backed up
    created_at: str


def backend_of(database_url: str) -> str:
    backend = make_url(database_url).get_backend_name()
    if backend not in DATABASE_MEMBERS:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {backend}")
    return backend


def create(archive: Path, *, database_url: str, instance: Path, now: datetime) -> Manifest:
    """Write the archive (atomically: a half-written file never has the final name)."""
    backend = backend_of(database_url)
    url = make_url(database_url)
    with tempfile.TemporaryDirectory(prefix="promptify-backup-") as work:
        dump = Path(work) / DATABASE_MEMBERS[backend]
        if backend == "sqlite":
            _sqlite_copy(Path(url.database or ""), dump)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}"], url)
        manifest = Manifest(FORMAT, backend, schema_revision(database_url), now.isoformat())
        (Path(work) / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2))
        partial = archive.with_name(archive.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(Path(work) / "manifest.json", arcname="manifest.json")
            tar.add(dump, arcname=dump.name)
            for path in _instance_files(instance, url if backend == "sqlite" else None):
                tar.add(path, arcname=f"instance/{path.relative_to(instance)}")
        os.replace(partial, archive)
    return manifest


def restore(archive: Path, *, database_url: str, instance: Path, force: bool) -> Manifest:
    """Put the archive's database and instance files in place. Refuses a database that holds
    anything, or instance files that differ, unless `force`."""
    backend = backend_of(database_url)
    url = make_url(database_url)
    with (
        tempfile.TemporaryDirectory(prefix="promptify-restore-") as work,
        tarfile.open(archive, "r:gz") as tar,
    ):
        tar.extractall(work, filter="data")
        manifest = Manifest(**json.loads((Path(work) / "manifest.json").read_text()))
        if manifest.backend != backend:
            raise BackupError(
                f"this archive holds a {manifest.backend} database; DATABASE_URL points at "
                f"{backend}. Restore it into a {manifest.backend} database."
            )
        if not force and not is_empty(database_url):
            raise BackupError(
                "the database is not empty; restore into an empty one, or pass --force to "
                "replace what it holds"
            )
        restored_instance = Path(work) / "instance"
        if not force:
            _check_instance(restored_instance, instance)
        dump = Path(work) / DATABASE_MEMBERS[backend]
        if backend == "sqlite":
            _sqlite_copy(dump, Path(url.database or ""))
        else:
            _run(
                ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction"]
                + ["--exit-on-error", f"--dbname={url.database}", str(dump)],
                url,
            )
        _copy_instance(restored_instance, instance)
    return manifest


def is_empty(database_url: str) -> bool:
    """No tables at all (a fresh database), or tables without a single row."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
            for table in tables:
                quoted = connection.dialect.identifier_preparer.quote(table)
                if connection.exec_driver_sql(f"SELECT 1 FROM {quoted} LIMIT 1").first():
                    return False
            return True
    finally:
        engine.dispose()


def schema_revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    finally:
        engine.dispose()


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy while other connections write."""
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _run(command: list[str], url: URL) -> None:
    """Run a PostgreSQL client tool with the connection in the environment (never in argv,
    where other users of the machine could read the password)."""
    if shutil.which(command[0]) is None:
        raise BackupError(
            f"{command[0]} is not installed (Debian: apt-get install postgresql-client)"
        )
    env = {
        **os.environ,
        "PGHOST": url.host or "localhost",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "",
        "PGDATABASE": url.database or "",
    }
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-2000:]}")


def _instance_files(instance: Path, sqlite_url: URL | None) -> list[Path]:
    skip: set[Path] = set()
    if sqlite_url is not None and sqlite_url.database:
        database = Path(sqlite_url.database).resolve()
        skip = {database, Path(f"{database}-wal"), Path(f"{database}-shm")}
    if not instance.is_dir():
        return []
    return sorted(
        p
        for p in instance.rglob("*")
        if p.is_file() and p.resolve() not in skip and p.suffix != ".partial"
    )


def _check_instance(restored: Path, instance: Path) -> None:
    if not restored.is_dir():
        return
    for path in restored.rglob("*"):
        target = instance / path.relative_to(restored)
        if path.is_file() and target.is_file() and target.read_bytes() != path.read_bytes():
            raise BackupError(
                f"{target} differs from the archive's copy (a different secret key would sign "
                "out every operator); restore into a fresh instance folder, or pass --force"
            )


def _copy_instance(restored: Path, instance: Path) -> None:
    if not restored.is_dir():
        return
    for path in sorted(restored.rglob("*")):
        target = instance / path.relative_to(restored)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            if target.name == "secret_key":
                target.chmod(0o600)
