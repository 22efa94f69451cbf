"""`python -m bench.run --quick` still runs end to end and prints its tables (keeps bench/ from rotting)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_bench_prints_the_tables(pytestconfig: pytest.Config) -> None:
    choice = pytestconfig.getoption("--db")  # the suite's backend choice applies here too
    backends = "sqlite,postgresql" if choice == "both" else choice
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROMPTIFY_BENCH_BACKENDS": backends}
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = done.stdout
    assert "| scenario | backend | req/s | × echo |" in report
    assert "| bare Flask JSON echo (baseline) |" in report
    assert "| identify, unchanged JWT (EdDSA, 50 attrs, 10 orgs) |" in report
    assert "## 3. Page render time" in report and "| side panel via htmx" in report
    assert "## 4. Worker memory after the load" in report
    if os.environ.get("CI") == "true":
        assert "PostgreSQL skipped" not in report
    rows = [line for line in report.splitlines() if line.startswith("| identify")]
    assert rows and all(line.split("|")[11].strip() == "0" for line in rows), (
        "identify calls failed:\n" + "\n".join(rows)
    )
