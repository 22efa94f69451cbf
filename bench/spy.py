"""`python -m bench.spy [--backend postgresql] [--scenario unchanged]`: where a gunicorn worker
spends its CPU during one identify scenario, sampled with py-spy (`--gil`: only the thread
holding the GIL, i.e. Python CPU time, not waits on the database).

Builds a fresh data set (default 1,000,000 contacts like bench.run), serves it as bench.run does,
drives the scenario for 12 s and samples one worker for 10 s. Prints the share of samples per
package (self time) and the inclusive share of Promptify's own functions. Needs py-spy (in the
test extras) and permission to ptrace the worker (root, or kernel.yama.ptrace_scope = 0).
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench import pages, scenarios, servers
from bench.datagen import generate
from bench.load import run_load

BUILDERS = {
    "unchanged": scenarios.build_unchanged,
    "changed": scenarios.build_changed,
    "anonymous": scenarios.build_anonymous,
}
PACKAGES = (
    "sqlalchemy",
    "psycopg",
    "promptify",
    "gunicorn",
    "werkzeug",
    "flask_limiter",
    "limits",
    "flask",
    "jinja2",
    "joserfc",
    "cryptography",
    "json",
    "sqlite3",
    "threading",
    "selectors",
)
_FRAME = re.compile(r"(\S+) \((.*?):\d+\)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spy")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--scenario", choices=sorted(BUILDERS), default="unchanged")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    from cryptography.hazmat.primitives.asymmetric import ed25519

    with ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="promptify-spy-"))
        stack.callback(shutil.rmtree, workdir, True)
        url = stack.enter_context(servers.database(args.backend, workdir, "spy"))
        app_id = generate(url, args.contacts, args.contacts // 10, args.contacts).app_id
        key = ed25519.Ed25519PrivateKey.generate()
        pages.prepare(url, app_id, [], signing_key=key)
        server = stack.enter_context(servers.gunicorn("promptify:create_app()", database_url=url))
        plans = BUILDERS[args.scenario](scenarios.Setup(server.port, app_id, key), 8)
        raw = workdir / "samples.txt"
        sampler = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(server.worker_pids()[0]),
                "--duration",
                "10",
                "--rate",
                "200",
                "--gil",
                "--nonblocking",
                "--full-filenames",
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        load = run_load(server.port, plans, duration=12, warmup=1, server_pids=server.worker_pids())
        sampler.wait(timeout=60)
        print(
            f"{args.scenario} identify on {args.backend} ({args.contacts:,} contacts): "
            f"{load.rps:.0f} req/s, {load.server_cpu * 1000 / max(load.requests, 1):.2f} ms "
            f"worker CPU per request, {load.errors} errors"
        )
        print(summarise(raw.read_text()))
    return 0


def summarise(collapsed: str) -> str:
    """py-spy's raw (collapsed stacks) output → self share per package, inclusive per function."""
    total, by_package, inclusive = 0, collections.Counter[str](), collections.Counter[str]()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        frames = [m.groups() for m in map(_FRAME.match, stack.split(";")) if m]
        if not frames:
            continue
        by_package[_package(frames[-1][1])] += samples
        for function in {
            f"{name} ({_short(path)})" for name, path in frames if "/promptify/" in path
        }:
            inclusive[function] += samples
    lines = [f"{total} samples with the GIL held", "", "self time by package:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in by_package.most_common(12)]
    lines += ["", "inclusive time of Promptify functions (≥ 2%):"]
    lines += [
        f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common() if n / total >= 0.02
    ]
    return "\n".join(lines)


def _package(path: str) -> str:
    return next((p for p in PACKAGES if f"/{p}/" in path or path.endswith(f"/{p}.py")), "other")


def _short(path: str) -> str:
    return path[path.rindex("/promptify/") + 1 :] if "/promptify/" in path else path


if __name__ == "__main__":
    raise SystemExit(main())
