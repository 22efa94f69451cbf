"""The markdown report of `python -m bench.run`: machine, data sets, the three comparisons."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bench import scenarios, servers

if TYPE_CHECKING:
    from bench.run import BackendResult, Config, Dataset

RSS_TARGET_MB = 120
PAGE_TARGET = 1.5
ECHO = scenarios.ECHO


def _command(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "n/a"


def machine(config: Config) -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (line for line in _command("free", "-g").splitlines() if line.startswith("Mem:")), "n/a"
    )
    import sqlite3

    import gunicorn

    pg = servers.postgres_version() if "postgresql" in config.backends else "not run"
    versions = (
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, PostgreSQL {pg}, "
        f"gunicorn {gunicorn.__version__}, Linux {platform.release()}"
    )
    load = (
        f"load average (1/5/15 min) at the end: {loadavg()} (this run's own gunicorn, load "
        "generator and database make about 4); CPU ms/request is the column least disturbed by "
        "other processes"
    )
    server = (
        f"server: gunicorn {servers.WORKERS} workers × {servers.THREADS} threads (gthread), on the "
        f"same cores as the load generator; load: {config.connections} keep-alive connections, "
        f"closed loop, {config.warmup:g} s warm-up + {config.duration:g} s measured per row"
    )
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {cpu}; `nproc` = {_command('nproc')}; `free -g`: `{' '.join(memory.split())}`",
        f"- {versions}",
        f"- {load}",
        f"- {server}",
    ]


def loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _header(cells: list[str]) -> list[str]:
    return [_row(cells), "|" + "---|" * len(cells)]


IDENTIFY_COLUMNS = [
    "scenario",
    "backend",
    "req/s",
    "× echo",
    "p50 ms",
    "× echo",
    "p99 ms",
    "× echo",
    "server CPU ms/req",
    "load-gen CPU %",
    "errors",
    "target",
    "met?",
]


def identify_table(results: list[BackendResult]) -> list[str]:
    lines = _header(IDENTIFY_COLUMNS)
    targets = {s.name: s.target for s in scenarios.SCENARIOS}
    for result in results:
        echo = result.loads[ECHO]
        for name, load in result.loads.items():
            ratio = load.rps / echo.rps if echo.rps else 0.0
            target = targets.get(name)
            p50, p99 = load.percentile(0.5), load.percentile(0.99)
            cpu = load.server_cpu * 1000 / load.requests if load.requests else float("nan")
            lines.append(
                _row(
                    [
                        name,
                        result.backend,
                        f"{load.rps:,.0f}",
                        f"{ratio:.2f}",
                        _ms(p50),
                        f"{p50 / echo.percentile(0.5):.1f}",
                        _ms(p99),
                        f"{p99 / echo.percentile(0.99):.1f}",
                        f"{cpu:.2f}",
                        f"{100 * load.client_cpu / load.seconds:.0f}",
                        str(load.errors),
                        f"≥ {target:.2f}× echo" if target else "—",
                        _verdict(ratio >= target) if target else "—",
                    ]
                )
            )
    return lines


def pages_table(results: list[BackendResult], config: Config) -> list[str]:
    small, big = f"{config.small[2]:,}", f"{config.big[2]:,}"
    lines = _header(
        [
            "page",
            "backend",
            f"p50 ms @ {small}",
            f"p50 ms @ {big}",
            "×",
            f"p90 ms @ {big}",
            "target",
            "met?",
        ]
    )
    for result in results:
        for name, timing in result.pages_big.items():
            base = result.pages_small[name]
            ratio = timing.p50 / base.p50
            lines.append(
                f"| {name} | {result.backend} | {_ms(base.p50)} | {_ms(timing.p50)} | {ratio:.2f} "
                f"| {_ms(timing.p90)} | ≤ {PAGE_TARGET}× | {_verdict(ratio <= PAGE_TARGET)} |"
            )
    return lines


def rss_table(results: list[BackendResult]) -> list[str]:
    lines = ["| backend | worker RSS MiB | target | met? |", "|---|---|---|---|"]
    for result in results:
        worst = max(result.rss, default=float("nan"))
        lines.append(
            f"| {result.backend} | {' / '.join(f'{r:.0f}' for r in result.rss)} "
            f"| < {RSS_TARGET_MB} MiB | {_verdict(worst < RSS_TARGET_MB)} |"
        )
    return lines


STEPS = ("organization", "contact", "membership", "conversation", "message", "analyze")


def data_table(datasets: dict[tuple[str, str], Dataset]) -> list[str]:
    lines = _header(
        [
            "backend",
            "set",
            "contacts",
            "organizations",
            "memberships",
            "conversations (+1 message each)",
            "seconds: orgs / contacts / memberships / conversations / messages / analyze",
            "wall s",
        ]
    )
    for (backend, size), data in datasets.items():
        s = data.stats
        lines.append(
            _row(
                [
                    backend,
                    size,
                    f"{len(s.contact_ids):,}",
                    f"{len(s.organization_ids):,}",
                    f"{s.memberships:,}",
                    f"{len(s.conversation_ids):,}",
                    " / ".join(f"{s.seconds.get(t, 0):.1f}" for t in STEPS),
                    f"{data.wall:.1f}",
                ]
            )
        )
    return lines


def report(
    config: Config,
    datasets: dict[tuple[str, str], Dataset],
    results: list[BackendResult],
    notes: list[str],
) -> str:
    title = "# Promptify benchmark" + (
        " (quick smoke run: tiny data, short load; not meaningful)" if config.quick else ""
    )
    sections = [
        [title, "", *machine(config), *notes],
        ["## Data sets", "", *data_table(datasets)],
        [
            "## 1–2. Identify throughput and latency against a bare Flask JSON echo",
            "",
            *identify_table(results),
        ],
        [
            f"## 3. Page render time: {config.big[2]:,} against {config.small[2]:,} conversations",
            "",
            *pages_table(results, config),
        ],
        ["## 4. Worker memory after the load", "", *rss_table(results)],
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"
