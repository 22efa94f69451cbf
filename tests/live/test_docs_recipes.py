"""The several-hosts recipe of docs/operations.md, "Several processes and hosts", followed
literally: its environment file, its one-time commands and its systemd unit's ExecStart run as
written, with only the machine-specific values (addresses, passwords, paths, the port) replaced.
The database block is not run: `createuser --pwprompt` asks for a password interactively."""

from __future__ import annotations

import os
import re
import secrets
import shlex
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy.engine import make_url

from tests.conftest import _create_postgres_database, _drop_postgres_database

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "operations.md"
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"
REDIS_URL = "redis://127.0.0.1:6379/13"


def recipe(name: str) -> str:
    """The fenced block that follows `<!-- recipe: name -->` in the docs."""
    match = re.search(
        rf"<!-- recipe: {name} -->\n```[a-z]*\n(.*?)\n```", DOCS.read_text(), re.DOTALL
    )
    assert match, f"docs/operations.md has no recipe {name!r}"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def machine(tmp_path, database_url) -> dict[str, str]:
    """What differs on this machine: the values the recipe says to fill in."""
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("the several-hosts recipe is for PostgreSQL")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is unreachable: {error}", pytrace=False)
        pytest.skip(f"Redis is unreachable: {error}")
    url = _create_postgres_database()
    yield {
        "DATABASE_URL": url,
        "PROMPTIFY_SECRET_KEY": secrets.token_urlsafe(48),
        "PROMPTIFY_RATELIMIT_STORAGE_URI": REDIS_URL,
        "PROMPTIFY_INSTANCE_PATH": str(tmp_path / "var-lib-promptify"),
        "WEB_CONCURRENCY": "2",  # 2 cores here
    }
    _drop_postgres_database(url)


def _environment(machine: dict[str, str]) -> dict[str, str]:
    documented = dict(
        line.split("=", 1) for line in recipe("env").splitlines() if line and "=" in line
    )
    assert set(machine) <= set(documented), "the recipe no longer sets these variables"
    env = {**documented, **machine}
    return {**os.environ, **env, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}


def test_the_several_hosts_recipe_runs_as_written(machine, tmp_path):
    env = _environment(machine)
    for line in recipe("once").splitlines():
        command = line.replace("/var/backups/", f"{tmp_path}/")
        done = subprocess.run(
            ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        if line.startswith("promptify doctor"):
            assert "FAIL" not in done.stdout and "rate limits: shared" in done.stdout

    unit = recipe("unit")
    assert "EnvironmentFile=/etc/promptify/env" in unit
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    port = _free_port()
    argv = shlex.split(exec_start.removeprefix("ExecStart="))
    argv[0] = argv[0].replace("/opt/promptify/.venv/bin", str(VENV_BIN))
    argv = [a.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for a in argv]
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=log)
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError((tmp_path / "gunicorn.log").read_text())
            time.sleep(0.1)
        behind_proxy = requests.get(
            f"{base}/login", headers={"X-Forwarded-Proto": "https"}, timeout=5
        )
        assert "max-age" in behind_proxy.headers["Strict-Transport-Security"]  # PROXY_HOPS=1
        assert "; Secure" in behind_proxy.headers["Set-Cookie"]
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
