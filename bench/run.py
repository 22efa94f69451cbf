"""`python -m bench.run [--quick]`: the identify / inbox benchmark, printed as a markdown table.

Every figure is a ratio against a baseline measured in the same run on the same machine:
identify throughput and latency against a bare Flask JSON echo served the same way (gunicorn,
2 workers × 4 threads, loopback load generator), page render times at 1,000,000 rows against
the same pages at 1,000 rows, and the workers' RSS after the load. Progress goes to stderr, the
report to stdout (and to --output). bench/RESULTS.md holds a committed run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

from bench import pages, scenarios, servers
from bench.load import LoadResult, run_load

RSS_TARGET_MB = 120
PAGE_TARGET = 1.5
SAMPLED_CONVERSATIONS = 10


@dataclass(frozen=True)
class Config:
    quick: bool
    backends: tuple[str, ...]
    big: tuple[int, int, int]  # contacts, organizations, conversations
    small: tuple[int, int, int]
    duration: float
    warmup: float
    connections: int
    page_reps: int


def parse_args(argv: list[str] | None) -> tuple[Config, Path | None]:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny data, short load (< 60 s)")
    parser.add_argument("--backends", default=os.environ.get("PROMPTIFY_BENCH_BACKENDS", "sqlite,postgresql"),
                        help="comma-separated: sqlite,postgresql (PostgreSQL is skipped when unreachable)")
    parser.add_argument("--duration", type=float, help="measured seconds per load run (default 8, quick 1.5)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    quick = args.quick
    config = Config(
        quick=quick,
        backends=tuple(b for b in args.backends.split(",") if b),
        big=(5_000, 500, 5_000) if quick else (1_000_000, 100_000, 1_000_000),
        small=(1_000, 100, 1_000),
        duration=args.duration or (1.5 if quick else 8.0),
        warmup=0.5 if quick else 2.0,
        connections=args.connections,
        page_reps=5 if quick else 20,
    )
    return config, args.output


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    url: str
    stats: object  # promptify.datagen.GenerateStats
    wall: float

    def sample_conversations(self) -> list[int]:
        ids = self.stats.conversation_ids  # type: ignore[attr-defined]
        return [ids[(i * len(ids)) // SAMPLED_CONVERSATIONS] for i in range(SAMPLED_CONVERSATIONS)]


def _generate(url: str, rows: tuple[int, int, int], label: str) -> tuple[object, float]:
    from promptify.datagen import generate

    started = time.perf_counter()
    stats = generate(url, *rows, echo=lambda line: log(f"{label} {line}"))
    return stats, time.perf_counter() - started


def build_datasets(config: Config, stack: ExitStack, workdir: Path) -> dict[tuple[str, str], Dataset]:
    """Migrate and fill a small and a big database per backend; the two backends' big sets are
    generated at the same time (one process each), so their times overlap on 2 cores."""
    urls = {(b, size): stack.enter_context(servers.database(b, workdir, size))
            for b in config.backends for size in ("big", "small")}
    jobs = sorted(urls, key=lambda key: key[1])  # big ones first
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("fork")) as pool:
        futures = {key: pool.submit(_generate, urls[key], getattr(config, key[1]), f"{key[0]}/{key[1]}")
                   for key in jobs}
        return {key: Dataset(urls[key], *futures[key].result()) for key in jobs}


# --- one backend ----------------------------------------------------------------------------


@dataclass
class BackendResult:
    backend: str
    loads: dict[str, LoadResult] = field(default_factory=dict)
    pages_small: dict[str, pages.PageTiming] = field(default_factory=dict)
    pages_big: dict[str, pages.PageTiming] = field(default_factory=dict)
    rss: list[float] = field(default_factory=list)


ECHO = "bare Flask JSON echo (baseline)"


def _load(config: Config, server: servers.Server, plans: list[list[bytes]]) -> LoadResult:
    return run_load(server.port, plans, duration=config.duration, warmup=config.warmup,
                    server_pids=server.worker_pids())


def bench_backend(config: Config, backend: str, big: Dataset, small: Dataset) -> BackendResult:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    result = BackendResult(backend)
    key = ed25519.Ed25519PrivateKey.generate()
    big_fixture = pages.prepare(big.url, big.stats.app_id, big.sample_conversations(), signing_key=key)  # type: ignore[attr-defined]
    small_fixture = pages.prepare(small.url, small.stats.app_id, small.sample_conversations())  # type: ignore[attr-defined]
    with servers.gunicorn("bench.echo_app:app") as echo:
        log(f"{backend}: {ECHO}")
        result.loads[ECHO] = _load(config, echo, scenarios.build_echo(scenarios.Setup(echo.port, "", key), config.connections))
    with servers.gunicorn("promptify:create_app()", database_url=big.url) as server:
        setup = scenarios.Setup(server.port, big.stats.app_id, key)  # type: ignore[attr-defined]
        for scenario in scenarios.SCENARIOS:
            log(f"{backend}: {scenario.name}")
            result.loads[scenario.name] = _load(config, server, scenario.build(setup, config.connections))
        log(f"{backend}: pages at {config.big[2]:,} conversations")
        result.pages_big = pages.time_pages(server.port, pages.login_cookie(server.port, big_fixture.password),
                                            big_fixture, reps=config.page_reps)
        result.rss = [servers.rss_mb(pid) for pid in server.worker_pids()]
    with servers.gunicorn("promptify:create_app()", database_url=small.url) as server:
        log(f"{backend}: pages at {config.small[2]:,} conversations")
        result.pages_small = pages.time_pages(server.port, pages.login_cookie(server.port, small_fixture.password),
                                              small_fixture, reps=config.page_reps)
    return result


# --- report ---------------------------------------------------------------------------------


def _command(*argv: str) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "n/a"


def machine(config: Config) -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((line for line in _command("free", "-g").splitlines() if line.startswith("Mem:")), "n/a")
    import sqlite3

    import gunicorn

    pg = servers.postgres_version() if "postgresql" in config.backends else "not run"
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {cpu}; `nproc` = {_command('nproc')}; `free -g`: `{' '.join(memory.split())}`",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, PostgreSQL {pg}, "
        f"gunicorn {gunicorn.__version__}, Linux {platform.release()}",
        f"- load average (1/5/15 min) when the report was printed: {_loadavg()} — other processes on the "
        "machine show up here; the CPU-per-request column is the figure least disturbed by them",
        f"- server: gunicorn {servers.WORKERS} workers × {servers.THREADS} threads (gthread), on the same "
        f"cores as the load generator; load: {config.connections} keep-alive connections, closed loop, "
        f"{config.warmup:g} s warm-up + {config.duration:g} s measured per row",
    ]


def _loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def identify_table(results: list[BackendResult]) -> list[str]:
    lines = ["| scenario | backend | req/s | × echo | p50 ms | × echo | p99 ms | × echo | server CPU ms/req "
             "| load-gen CPU % | errors | target | met? |", "|" + "---|" * 13]
    targets = {s.name: s.target for s in scenarios.SCENARIOS}
    for result in results:
        echo = result.loads[ECHO]
        for name, load in result.loads.items():
            ratio = load.rps / echo.rps if echo.rps else 0.0
            target = targets.get(name)
            cpu = load.server_cpu * 1000 / load.requests if load.requests else float("nan")
            lines.append(
                f"| {name} | {result.backend} | {load.rps:,.0f} | {ratio:.2f} | {_ms(load.percentile(0.5))} "
                f"| {load.percentile(0.5) / echo.percentile(0.5):.1f} | {_ms(load.percentile(0.99))} "
                f"| {load.percentile(0.99) / echo.percentile(0.99):.1f} | {cpu:.2f} "
                f"| {100 * load.client_cpu / load.seconds:.0f} | {load.errors} "
                f"| {'≥ %.2f× echo' % target if target else '—'} | {_verdict(ratio >= target) if target else '—'} |")
    return lines


def pages_table(results: list[BackendResult], config: Config) -> list[str]:
    small, big = f"{config.small[2]:,}", f"{config.big[2]:,}"
    lines = [f"| page | backend | p50 ms @ {small} | p50 ms @ {big} | × | p90 ms @ {big} | target | met? |",
             "|" + "---|" * 8]
    for result in results:
        for name, timing in result.pages_big.items():
            base = result.pages_small[name]
            ratio = timing.p50 / base.p50
            lines.append(f"| {name} | {result.backend} | {_ms(base.p50)} | {_ms(timing.p50)} | {ratio:.2f} "
                         f"| {_ms(timing.p90)} | ≤ {PAGE_TARGET}× | {_verdict(ratio <= PAGE_TARGET)} |")
    return lines


def rss_table(results: list[BackendResult]) -> list[str]:
    lines = ["| backend | worker RSS MiB | target | met? |", "|---|---|---|---|"]
    for result in results:
        worst = max(result.rss, default=float("nan"))
        lines.append(f"| {result.backend} | {' / '.join(f'{r:.0f}' for r in result.rss)} "
                     f"| < {RSS_TARGET_MB} MiB | {_verdict(worst < RSS_TARGET_MB)} |")
    return lines


def data_table(datasets: dict[tuple[str, str], Dataset]) -> list[str]:
    lines = ["| backend | set | contacts | organizations | memberships | conversations (+1 message each) "
             "| seconds: orgs / contacts / memberships / conversations / messages / analyze | wall s |",
             "|" + "---|" * 8]
    for (backend, size), data in datasets.items():
        s = data.stats
        steps = " / ".join(f"{s.seconds.get(t, 0):.1f}" for t in  # type: ignore[attr-defined]
                           ("organization", "contact", "membership", "conversation", "message", "analyze"))
        lines.append(f"| {backend} | {size} | {len(s.contact_ids):,} | {len(s.organization_ids):,} "  # type: ignore[attr-defined]
                     f"| {s.memberships:,} | {len(s.conversation_ids):,} | {steps} | {data.wall:.1f} |")  # type: ignore[attr-defined]
    return lines


def report(config: Config, datasets: dict[tuple[str, str], Dataset], results: list[BackendResult],
           notes: list[str]) -> str:
    title = "# Promptify benchmark" + (" (quick smoke run: tiny data, short load; not meaningful)" if config.quick else "")
    sections = [
        [title, "", *machine(config), *notes],
        ["## Data sets", "", *data_table(datasets)],
        ["## 1–2. Identify throughput and latency against a bare Flask JSON echo", "", *identify_table(results)],
        [f"## 3. Page render time: {config.big[2]:,} against {config.small[2]:,} conversations", "",
         *pages_table(results, config)],
        ["## 4. Worker memory after the load", "", *rss_table(results)],
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def main(argv: list[str] | None = None) -> int:
    config, output = parse_args(argv)
    notes = []
    if "postgresql" in config.backends and (why := servers.postgres_available()):
        notes.append(f"- PostgreSQL skipped: {why}")
        config = Config(**{**config.__dict__, "backends": tuple(b for b in config.backends if b != "postgresql")})
    notes.append(f"- load average when the run started: {_loadavg()}")
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="promptify-bench-data-"))
    try:
        with ExitStack() as stack:
            datasets = build_datasets(config, stack, workdir)
            log(f"data sets ready after {time.perf_counter() - started:.0f} s")
            results = [bench_backend(config, b, datasets[(b, "big")], datasets[(b, "small")]) for b in config.backends]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    notes.append(f"- whole run: {time.perf_counter() - started:.0f} s (`python -m bench.run{' --quick' if config.quick else ''}`)")
    text = report(config, datasets, results, notes)
    print(text)
    if output:
        output.write_text(text)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
