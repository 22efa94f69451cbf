"""`python -m bench.profile_identify [--backend postgresql] [--scenario changed]`: where one
identify spends its time, with pyinstrument, in-process (Flask test client, no gunicorn).

The same requests as bench.run's scenarios, on a fresh database; prints pyinstrument's text
report (time per call tree node, summed over --requests calls). Needs `pip install pyinstrument`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench import scenarios, servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_identify")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--scenario", choices=("unchanged", "changed", "anonymous"), default="unchanged"
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--html", type=Path, help="also write pyinstrument's HTML report here")
    args = parser.parse_args(argv)

    from cryptography.hazmat.primitives.asymmetric import ed25519
    from pyinstrument import Profiler

    from bench.datagen import generate
    from bench.pages import prepare
    from promptify import create_app

    with ExitStack() as stack:
        url = stack.enter_context(
            servers.database(args.backend, Path(tempfile.mkdtemp()), "profile")
        )
        app_id = generate(url, 1000, 100, 1000).app_id
        key = ed25519.Ed25519PrivateKey.generate()
        prepare(url, app_id, [], signing_key=key)
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", **servers.RATE_LIMITS}
        )
        client = app.test_client()
        headers = {"Origin": scenarios.ORIGIN, "X-Promptify-Page-Url": scenarios.PAGE_URL}

        def identify(body: dict, session: str | None = None) -> str:
            extra = {"X-Promptify-Session": session} if session else {}
            answer = client.post(
                scenarios.identify_path(app_id), json=body, headers={**headers, **extra}
            )
            assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
            return answer.get_json()["session"]

        bodies = _bodies(args.scenario, key)
        session = identify(bodies[-1])
        for body in bodies * 5:  # warm caches and the connection pool
            identify(body, session)
        statements = _count_statements(app)
        started = time.perf_counter()
        for index in range(args.requests):
            identify(bodies[index % len(bodies)], session)
        plain = (time.perf_counter() - started) * 1000 / args.requests
        count = len(statements)
        statements.clear()
        identify(bodies[0], session)
        shapes = ", ".join(_shape(s) for s in statements)
        print(
            f"{args.scenario} identify on {args.backend}, in-process without profiler: "
            f"{plain:.2f} ms each, {count / args.requests:.1f} SQL statements each: {shapes}"
        )
        profiler = Profiler(interval=0.0005)
        with profiler:
            for index in range(args.requests):
                identify(bodies[index % len(bodies)], session)
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        if args.html:
            args.html.write_text(profiler.output_html())
        from promptify.extensions import db

        with app.app_context():
            db.engine.dispose()
    return 0


def _count_statements(app: object) -> list[str]:
    from sqlalchemy import event

    from promptify.extensions import db

    seen: list[str] = []
    with app.app_context():  # type: ignore[attr-defined]
        event.listen(
            db.engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_: seen.append(" ".join(statement.split())),
        )
    return seen


def _shape(statement: str) -> str:
    """`SELECT … FROM contact WHERE …` → `SELECT contact`: enough to tell the round trips apart."""
    words = statement.split() + ["", "", ""]
    if "FROM" in words:
        table = words[words.index("FROM") + 1]
    else:  # INSERT INTO t …, UPDATE t SET …, BEGIN
        table = words[2] if words[0] == "INSERT" else words[1]
    return f"{words[0]} {table}".strip()


def _bodies(scenario: str, key: object) -> list[dict]:
    if scenario == "anonymous":
        return [{"id": None}]
    if scenario == "unchanged":
        return [{"jwt": scenarios.sign(key, scenarios.claims("profile-user", 0, 1))}]
    return [
        {"jwt": scenarios.sign(key, scenarios.claims("profile-user", v, 1))}
        for v in range(scenarios.VARIANTS)
    ]


if __name__ == "__main__":
    raise SystemExit(main())
