"""`promptify demo --serve` (what `make run` starts): console, widget API and the host page on
another port all answer, the printed curl command identifies a user, the admin's password is the
one of the previous run and is repeated last before the access log, and successful polls stay out
of that log."""

from __future__ import annotations

import html
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.live.conftest import ROOT, _free_port

ACCESS_LINE = re.compile(r"^\S+ - - \[[^\]]+\] \"")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _password(output: str) -> str:
    return re.findall(r"email admin@example\.com, password (\S+)\)", output)[-1]


def test_demo_serves_console_api_and_host_page(tmp_path: Path):
    port = _free_port()
    env = {
        **os.environ,
        "PROMPTIFY_INSTANCE_PATH": str(tmp_path / "instance"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_URL", None)
    promptify = [sys.executable, "-c", "from promptify.cli import cli; cli()"]
    subprocess.run([*promptify, "db", "upgrade"], env=env, check=True, capture_output=True)
    earlier = subprocess.run(
        [*promptify, "demo"], env=env, check=True, capture_output=True, text=True
    )
    log = open(tmp_path / "demo.log", "w+")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [*promptify, "demo", "--serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port + 1}/", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and server.poll() is None, (
                tmp_path / "demo.log"
            ).read_text()
            time.sleep(0.2)
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {
            "status": "ok"
        }
        output = (tmp_path / "demo.log").read_text()
        curl = next(
            line.strip()
            for line in output.splitlines()
            if line.strip().startswith("curl") and "user-123" in line
        )
        result = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=30)
        assert '"verified":false' in result.stdout.replace(" ", "") and "Acme Corp" in result.stdout
        page = requests.get(f"http://127.0.0.1:{port + 1}/", timeout=5).text
        app_id = re.search(r"app id: (app_\S+)", output).group(1)
        assert (
            f'data-app-id="{app_id}"' in page and f"127.0.0.1:{port}/widget/v1/promptify.js" in page
        )
        token = requests.get(f"http://127.0.0.1:{port + 1}/token?id=user-123", timeout=5).text
        signed = requests.post(
            f"http://127.0.0.1:{port}/widget/v1/apps/{app_id}/identify",
            json={"jwt": token},
            timeout=5,
        )
        assert signed.json()["contact"]["verified"] is True

        # The same password as the earlier run, printed again as the last line before the access log.
        password = _password(earlier.stdout)
        lines = output.splitlines()
        first_access = next(i for i, line in enumerate(lines) if ACCESS_LINE.match(line))
        sign_in = f"Console: http://127.0.0.1:{port}/login  (email admin@example.com, password {password})"
        assert lines[first_access - 1] == sign_in
        console = f"http://127.0.0.1:{port}"
        with requests.Session() as browser:
            form = browser.get(f"{console}/login", timeout=5).text
            csrf_token = html.unescape(CSRF.search(form).group(1))
            signed_in = browser.post(
                f"{console}/login",
                allow_redirects=False,
                timeout=5,
                data={"email": "admin@example.com", "password": password, "csrf_token": csrf_token},
            )
            assert signed_in.status_code == 303
            # The console's list refresh (a poll), then a navigation to the same list.
            refresh = {"HX-Trigger": "conversation-list"}
            assert browser.get(f"{console}/inbox?status=open&q=", headers=refresh, timeout=5).ok
            assert browser.get(f"{console}/inbox", timeout=5).ok
        # The widget's conversation list: a successful poll, then a failing one.
        conversations = f"/widget/v1/apps/{app_id}/conversations"
        session = {"X-Promptify-Session": signed.json()["session"]}
        assert (
            requests.get(f"{console}{conversations}", headers=session, timeout=5).status_code == 200
        )
        assert requests.get(f"{console}{conversations}", timeout=5).status_code == 401
        requests.get(f"{console}/healthz", timeout=5)  # logged after the requests above
        time.sleep(0.2)
        lines = (tmp_path / "demo.log").read_text().splitlines()
        logged = [
            ANSI.sub("", line).split('] "', 1)[1] for line in lines if ACCESS_LINE.match(line)
        ]
        assert f'GET {conversations} HTTP/1.1" 401 -' in logged[-2:]
        assert f'GET {conversations} HTTP/1.1" 200 -' not in logged
        assert 'GET /inbox?status=open&q= HTTP/1.1" 200 -' not in logged
        assert 'GET /inbox HTTP/1.1" 200 -' in logged
        assert f'POST /widget/v1/apps/{app_id}/identify HTTP/1.1" 200 -' in logged
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
