"""`python -m bench.run [--quick]`: the identify / inbox benchmark, printed as a markdown table.

Every figure is a ratio against a baseline measured in the same run on the same machine:
identify throughput and latency against a bare Flask JSON echo served the same way (gunicorn,
2 workers × 4 threads, loopback load generator), page render times at 1,000,000 rows against
the same pages at 1,000 rows, and the workers' RSS after the load. Progress goes to stderr, the
report to stdout (and to --output). bench/RESULTS.md holds a committed run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from bench import pages, scenarios, servers
from bench.datagen import GenerateStats, generate
from bench.load import LoadResult, run_load
from bench.report import loadavg, report

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
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: tiny data, short load (< 60 s)"
    )
    parser.add_argument(
        "--backends",
        default=os.environ.get("PROMPTIFY_BENCH_BACKENDS", "sqlite,postgresql"),
        help="comma-separated: sqlite,postgresql (PostgreSQL is skipped when unreachable)",
    )
    parser.add_argument(
        "--duration", type=float, help="measured seconds per load run (default 8, quick 1.5)"
    )
    parser.add_argument(
        "--connections", type=int, default=8, help="concurrent keep-alive connections"
    )
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
    stats: GenerateStats
    wall: float

    def sample_conversations(self) -> list[int]:
        ids = self.stats.conversation_ids
        return [ids[(i * len(ids)) // SAMPLED_CONVERSATIONS] for i in range(SAMPLED_CONVERSATIONS)]


def _generate(url: str, rows: tuple[int, int, int], label: str) -> tuple[GenerateStats, float]:
    started = time.perf_counter()
    stats = generate(url, *rows, echo=lambda line: log(f"{label} {line}"))
    return stats, time.perf_counter() - started


def build_datasets(
    config: Config, stack: ExitStack, workdir: Path
) -> dict[tuple[str, str], Dataset]:
    """Migrate and fill a small and a big database per backend; the two backends' big sets are
    generated at the same time (one process each), so their times overlap on 2 cores."""
    urls = {
        (b, size): stack.enter_context(servers.database(b, workdir, size))
        for b in config.backends
        for size in ("big", "small")
    }
    jobs = sorted(urls, key=lambda key: key[1])  # big ones first
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("fork")) as pool:
        futures = {
            key: pool.submit(_generate, urls[key], getattr(config, key[1]), f"{key[0]}/{key[1]}")
            for key in jobs
        }
        return {key: Dataset(urls[key], *futures[key].result()) for key in jobs}


# --- one backend ----------------------------------------------------------------------------


@dataclass
class BackendResult:
    backend: str
    loads: dict[str, LoadResult] = field(default_factory=dict)
    pages_small: dict[str, pages.PageTiming] = field(default_factory=dict)
    pages_big: dict[str, pages.PageTiming] = field(default_factory=dict)
    rss: list[float] = field(default_factory=list)


ECHO = scenarios.ECHO


def _load(config: Config, server: servers.Server, plans: list[list[bytes]]) -> LoadResult:
    return run_load(
        server.port,
        plans,
        duration=config.duration,
        warmup=config.warmup,
        server_pids=server.worker_pids(),
    )


def bench_backend(config: Config, backend: str, big: Dataset, small: Dataset) -> BackendResult:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    result = BackendResult(backend)
    key = ed25519.Ed25519PrivateKey.generate()
    big_fixture = pages.prepare(
        big.url, big.stats.app_id, big.sample_conversations(), signing_key=key
    )
    small_fixture = pages.prepare(small.url, small.stats.app_id, small.sample_conversations())
    with servers.gunicorn("bench.echo_app:app") as echo:
        log(f"{backend}: {ECHO}")
        result.loads[ECHO] = _load(
            config,
            echo,
            scenarios.build_echo(scenarios.Setup(echo.port, "", key), config.connections),
        )
    with servers.gunicorn("promptify:create_app()", database_url=big.url) as server:
        setup = scenarios.Setup(server.port, big.stats.app_id, key)
        for scenario in scenarios.SCENARIOS:
            log(f"{backend}: {scenario.name}")
            result.loads[scenario.name] = _load(
                config, server, scenario.build(setup, config.connections)
            )
        log(f"{backend}: pages at {config.big[2]:,} conversations")
        result.pages_big = pages.time_pages(
            server.port,
            pages.login_cookie(server.port, big_fixture.password),
            big_fixture,
            reps=config.page_reps,
        )
        result.rss = [servers.rss_mb(pid) for pid in server.worker_pids()]
    with servers.gunicorn("promptify:create_app()", database_url=small.url) as server:
        log(f"{backend}: pages at {config.small[2]:,} conversations")
        result.pages_small = pages.time_pages(
            server.port,
            pages.login_cookie(server.port, small_fixture.password),
            small_fixture,
            reps=config.page_reps,
        )
    return result


def main(argv: list[str] | None = None) -> int:
    config, output = parse_args(argv)
    notes = []
    if "postgresql" in config.backends and (why := servers.postgres_available()):
        notes.append(f"- PostgreSQL skipped: {why}")
        config = dataclasses.replace(
            config, backends=tuple(b for b in config.backends if b != "postgresql")
        )
    notes.append(f"- load average before the run (other processes on the machine): {loadavg()}")
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="promptify-bench-data-"))
    try:
        with ExitStack() as stack:
            datasets = build_datasets(config, stack, workdir)
            log(f"data sets ready after {time.perf_counter() - started:.0f} s")
            results = [
                bench_backend(config, b, datasets[(b, "big")], datasets[(b, "small")])
                for b in config.backends
            ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    command = "python -m bench.run" + (" --quick" if config.quick else "")
    notes.append(f"- whole run: {time.perf_counter() - started:.0f} s (`{command}`)")
    text = report(config, datasets, results, notes)
    print(text)
    if output:
        output.write_text(text)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
