"""A real gunicorn with 2 workers against the test database, for cross-process races."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_server(app, database_url, tmp_path) -> Iterator[str]:
    """Serve the app under gunicorn (2 workers, 4 threads each), warmed up; yields the base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PROMPTIFY_SECRET_KEY": "live-test",
        # the races hammer one visitor on purpose; the per-visitor quotas have their own tests
        "PROMPTIFY_CONVERSATIONS_PER_HOUR": "1000000",
        "PROMPTIFY_MESSAGES_PER_HOUR": "1000000",
        "PYTHONPATH": str(ROOT),
    }
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed in the finally below
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "--chdir",
            str(tmp_path),
            "promptify:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError((tmp_path / "gunicorn.log").read_text())
            time.sleep(0.1)
        for _ in range(16):  # let both workers import everything before the race starts
            requests.get(f"{base_url}/healthz", timeout=10)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
