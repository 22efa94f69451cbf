"""Throw-away databases and gunicorn servers (2 workers × 4 threads, as tests/live/conftest.py)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.load import HOST, exchange, request_bytes

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get(
    "PROMPTIFY_BENCH_POSTGRES_URL",
    os.environ.get(
        "PROMPTIFY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
)
WORKERS, THREADS = 2, 4
# One loopback address sends everything: the limiter stays on (its cost is part of a request)
# with limits no run can reach, so the numbers are not 429s.
RATE_LIMITS = {
    "WIDGET_RATE_LIMIT_PER_ADDRESS": "100000000 per minute",
    "WIDGET_RATE_LIMIT_PER_APP": "100000000 per minute",
}
RATE_LIMITS_ENV = {f"PROMPTIFY_{name}": value for name, value in RATE_LIMITS.items()}


# --- databases -----------------------------------------------------------------------------


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return None
    except Exception as error:  # noqa: BLE001 - any failure means "not available"
        return str(error).splitlines()[0]
    finally:
        engine.dispose()


def postgres_version() -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


@contextmanager
def database(backend: str, workdir: Path, label: str) -> Iterator[str]:
    """A fresh, migrated database URL; the PostgreSQL one is dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'{label}.sqlite'}"
        _migrate(url)
        yield url
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"promptify_bench_{label}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    import logging

    from flask_migrate import upgrade

    from promptify import create_app
    from promptify.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    logging.getLogger("alembic").setLevel(logging.WARNING)


# --- gunicorn ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    port: int
    master: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def worker_pids(self) -> list[int]:
        return children_of(self.master.pid)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(app_spec: str, *, database_url: str | None = None) -> Iterator[Server]:
    """Serve `app_spec` (e.g. "promptify:create_app()") and wait until both workers answer."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PROMPTIFY_SECRET_KEY": "bench",
        **RATE_LIMITS_ENV,
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    workdir = Path(tempfile.mkdtemp(prefix="promptify-bench-"))
    log = workdir / "gunicorn.log"
    with open(log, "w") as handle:
        master = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(WORKERS),
                "--threads",
                str(THREADS),
                "-b",
                f"{HOST}:{port}",
                "--chdir",
                str(workdir),
                app_spec,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )
    server = Server(port, master, log)
    try:
        _wait_ready(server)
        yield server
    finally:
        master.terminate()
        try:
            master.wait(timeout=20)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + 60
    while True:
        if server.master.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not start:\n{server.log.read_text()[-3000:]}")
        if len(server.worker_pids()) == WORKERS and _healthy(server.port):
            break
        time.sleep(0.1)
    for _ in range(4 * WORKERS):  # let every worker import and connect once
        _healthy(server.port)


def _healthy(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=5) as sock:
            status, _, _ = exchange(
                sock, request_bytes("GET", "/healthz", headers={"Connection": "close"})
            )
            return status == 200
    except OSError:
        return False


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of one process in MiB."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")
