"""`promptify demo --serve` (what `make run` starts): console, widget API and the host page on
another port all answer, and the printed curl command identifies a user."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.live.conftest import ROOT, _free_port


def test_demo_serves_console_api_and_host_page(tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "PROMPTIFY_INSTANCE_PATH": str(tmp_path / "instance"), "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    promptify = [sys.executable, "-c", "from promptify.cli import cli; cli()"]
    subprocess.run([*promptify, "db", "upgrade"], env=env, check=True, capture_output=True)
    log = open(tmp_path / "demo.log", "w+")  # noqa: SIM115 - closed below
    server = subprocess.Popen([*promptify, "demo", "--serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port + 1}/", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "demo.log").read_text()
            time.sleep(0.2)
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {"status": "ok"}
        output = (tmp_path / "demo.log").read_text()
        curl = next(line.strip() for line in output.splitlines() if line.strip().startswith("curl") and "user-123" in line)
        result = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=30)
        assert '"verified":false' in result.stdout.replace(" ", "") and "Acme Corp" in result.stdout
        page = requests.get(f"http://127.0.0.1:{port + 1}/", timeout=5).text
        app_id = re.search(r"app id: (app_\S+)", output).group(1)
        assert f'data-app-id="{app_id}"' in page and f"127.0.0.1:{port}/widget/v1/promptify.js" in page
        token = requests.get(f"http://127.0.0.1:{port + 1}/token?id=user-123", timeout=5).text
        signed = requests.post(f"http://127.0.0.1:{port}/widget/v1/apps/{app_id}/identify", json={"jwt": token}, timeout=5)
        assert signed.json()["contact"]["verified"] is True
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
