"""A large, realistic-ish data set for the inbox benchmark (bench/, README "Benchmarks").

`generate()` appends contacts, organizations, memberships (1–3 per identified contact) and
conversations (one contact message each) to one workspace, fast: `COPY` on PostgreSQL,
`executemany` in big transactions with `synchronous=OFF` on SQLite. The rows are deterministic
for a given seed. It writes straight to the tables (no ORM, no services) because a million
ORM objects would take an hour; the values follow the models' rules (UTC times, JSON attrs,
ids unique per workspace), so the app cannot tell generated rows from real ones.

Run it as `python -m bench.datagen --contacts N --organizations N --conversations N`.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import click

FIRST = (
    "Ada",
    "Alan",
    "Amir",
    "Ana",
    "Ben",
    "Chen",
    "Chloe",
    "Dana",
    "David",
    "Elena",
    "Emma",
    "Farah",
    "Grace",
    "Hugo",
    "Ines",
    "Ivan",
    "Jin",
    "Julia",
    "Kofi",
    "Lea",
    "Liam",
    "Lucas",
    "Maya",
    "Mei",
    "Nina",
    "Noah",
    "Olga",
    "Omar",
    "Priya",
    "Rosa",
    "Sam",
    "Sara",
    "Tom",
    "Uma",
    "Victor",
    "Wei",
    "Yara",
    "Yusuf",
    "Zoe",
    "Zara",
)
LAST = (
    "Adams",
    "Baker",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kim",
    "Kowalski",
    "Lopez",
    "Martin",
    "Nakamura",
    "Novak",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Silva",
    "Tanaka",
    "Umar",
    "Virtanen",
    "Wang",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
)
WORDS = (
    "Acme",
    "Blue",
    "Cedar",
    "Delta",
    "Echo",
    "Forge",
    "Globex",
    "Harbor",
    "Initech",
    "Juniper",
    "Kite",
    "Lumen",
    "Maple",
    "Nimbus",
    "Orbit",
    "Pioneer",
    "Quartz",
    "River",
    "Summit",
    "Tandem",
    "Umbra",
    "Vertex",
    "Willow",
    "Zenith",
)
SUFFIXES = ("Labs", "Corp", "GmbH", "Ltd", "Inc", "Studio", "Systems", "Health", "Logistics")
DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "corp.example")
PLANS = ("free", "starter", "pro", "business", "enterprise")
COUNTRIES = ("DE", "FR", "US", "GB", "JP", "BR", "IN", "NG", "PL", "CA")
TOPICS = (
    "I can't log in",
    "Billing question",
    "The export fails",
    "How do I invite my team?",
    "Refund request",
    "Bug in the dashboard",
    "API rate limits",
    "Change my plan",
    "Two-factor codes don't arrive",
    "Feature request",
    "Invoice address",
    "Webhook retries",
)
DETAILS = (
    "since this morning",
    "on the mobile app",
    "after the last update",
    "for order #{n}",
    "for workspace {n}",
    "only in Safari",
    "with error code E{n}",
    "— can you help?",
)
PAGES = ("/dashboard", "/settings/billing", "/projects/{n}", "/reports", "/team", "/help")
AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
)

ANONYMOUS_SHARE = 0.15
VERIFIED_SHARE = 0.5
OPEN_SHARE = 0.25
CHUNK = 100_000  # rows per SQLite transaction


@dataclass
class GenerateStats:
    """What was added, with the seconds each table took (the bench prints them)."""

    app_id: str
    workspace_id: int
    contact_ids: range
    organization_ids: range
    conversation_ids: range
    memberships: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def generate(
    target: Any,
    contacts: int,
    organizations: int,
    conversations: int,
    workspace_app_id: str | None = None,
    *,
    seed: int = 1,
    now: datetime | None = None,
    echo: Callable[[str], None] | None = None,
) -> GenerateStats:
    """Append the rows to the workspace `workspace_app_id` (created when missing or None).

    `target` is a database URL (own connection, committed per chunk) or a SQLAlchemy
    Session/Connection (its transaction is used and committed at the end). The schema must
    exist (`promptify db upgrade`).
    """
    from sqlalchemy.engine import make_url

    owned = isinstance(target, str)
    if owned:
        url = make_url(target)
        raw = _connect(url)
        dialect = url.get_backend_name()
    else:
        connection = target.connection() if hasattr(target, "get_bind") else target
        raw = connection.connection.driver_connection
        dialect = connection.dialect.name
    postgres = dialect == "postgresql"
    loader = _PostgresLoader(raw) if postgres else _SQLiteLoader(raw, commit_chunks=owned)
    try:
        counts = (contacts, organizations, conversations)
        stats = _generate(
            loader,
            counts,
            workspace_app_id,
            seed,
            now or datetime.now(UTC),
            echo or (lambda _: None),
        )
        started = time.perf_counter()
        loader.analyze()  # fresh planner statistics, as autovacuum / `PRAGMA optimize` would keep
        loader.finish()
        if not owned:
            target.commit()
        stats.seconds["analyze"] = time.perf_counter() - started
        return stats
    finally:
        if owned:
            raw.close()


def _connect(url: Any) -> Any:
    if url.get_backend_name() == "sqlite":
        return sqlite3.connect(url.database, isolation_level=None)
    import psycopg

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(conninfo)


def _generate(
    loader: _Loader,
    counts: tuple[int, int, int],
    app_id: str | None,
    seed: int,
    now: datetime,
    echo: Callable[[str], None],
) -> GenerateStats:
    contacts, organizations, conversations = counts
    if conversations and not contacts:
        raise ValueError("conversations need contacts")
    loader.begin()
    workspace_id, app_id = _workspace(loader, app_id, now)
    first = {
        t: loader.scalar(f"SELECT coalesce(max(id), 0) + 1 FROM {t}")
        for t in ("contact", "organization", "conversation", "message")
    }
    stats = GenerateStats(
        app_id,
        workspace_id,
        range(first["contact"], first["contact"] + contacts),
        range(first["organization"], first["organization"] + organizations),
        range(first["conversation"], first["conversation"] + conversations),
    )
    kinds = bytearray(contacts)  # 0 anonymous, 1 identified, 2 identified and verified
    # who spoke last and the newest visitor message (revision 0005 on): unread for operators
    attention = loader.has_column("conversation", "last_contact_message_id")
    stamp = loader.stamp

    def rng(table: str) -> random.Random:  # a stream per table: messages replay conversations'
        return random.Random(f"{seed}:{table}")

    steps: list[tuple[str, tuple[str, ...], Iterable[tuple[Any, ...]]]] = [
        (
            "organization",
            ORGANIZATION_COLUMNS,
            _organizations(stats, rng("organization"), now, stamp),
        ),
        ("contact", CONTACT_COLUMNS, _contacts(stats, kinds, rng("contact"), now, stamp)),
        ("membership", MEMBERSHIP_COLUMNS, _memberships(stats, kinds, rng("membership"))),
        (
            "conversation",
            CONVERSATION_COLUMNS + (ATTENTION_COLUMNS if attention else ()),
            _conversations(
                stats, rng("conversation"), now, stamp, first["message"] if attention else None
            ),
        ),
        (
            "message",
            MESSAGE_COLUMNS,
            _messages(stats, kinds, first["message"], rng("conversation"), now, stamp),
        ),
    ]
    for table, columns, rows in steps:
        started = time.perf_counter()
        count = loader.load(table, columns, rows)
        stats.seconds[table] = time.perf_counter() - started
        if table == "membership":
            stats.memberships = count
        echo(f"{table}: {count:,} rows in {stats.seconds[table]:.1f} s")
    loader.reset_sequences(("contact", "organization", "conversation", "message"))
    return stats


def _workspace(loader: _Loader, app_id: str | None, now: datetime) -> tuple[int, str]:
    from promptify.services.workspaces import new_app_id

    if app_id is not None:
        found = loader.scalar("SELECT id FROM workspace WHERE app_id = ?", (app_id,))
        if found is not None:
            return int(found), app_id
    app_id = app_id or new_app_id()
    workspace_id = loader.scalar(
        "INSERT INTO workspace (app_id, name, require_jwt, created_at) VALUES (?, ?, ?, ?) "
        "RETURNING id",
        (app_id, "Generated data", False, loader.stamp(now)),
    )
    return int(workspace_id), app_id


# --- rows ------------------------------------------------------------------------------------

ORGANIZATION_COLUMNS = ("id", "workspace_id", "external_id", "name", "attrs", "created_at")
CONTACT_COLUMNS = (
    "id",
    "workspace_id",
    "external_id",
    "email",
    "name",
    "avatar_url",
    "attrs",
    "verified",
    "first_seen_at",
    "last_seen_at",
    "last_page_url",
    "user_agent",
)
MEMBERSHIP_COLUMNS = ("contact_id", "organization_id")
CONVERSATION_COLUMNS = (
    "id",
    "workspace_id",
    "contact_id",
    "assignee_id",
    "status",
    "preview",
    "created_at",
    "last_message_at",
)
ATTENTION_COLUMNS = ("last_author", "last_contact_message_id")
MESSAGE_COLUMNS = (
    "id",
    "conversation_id",
    "author",
    "operator_id",
    "body",
    "verified",
    "created_at",
)
DAY = 86_400


dumps = json.JSONEncoder(separators=(", ", ": ")).encode  # json.dumps minus its per-call setup


def _int(rng: random.Random, low: int, high: int) -> int:
    """rng.randint without its argument checks (a third of the generation time otherwise)."""
    return low + int(rng.random() * (high - low + 1))


def _ago(now: datetime, rng: random.Random, days: float) -> datetime:
    return now - timedelta(seconds=rng.random() * days * DAY)


def _organizations(
    stats: GenerateStats, rng: random.Random, now: datetime, stamp: Stamp
) -> Iterator[tuple]:
    for oid in stats.organization_ids:
        name = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(SUFFIXES)} {oid}"
        attrs = {
            "plan": rng.choice(PLANS),
            "seats": _int(rng, 1, 500),
            "country": rng.choice(COUNTRIES),
        }
        yield (
            oid,
            stats.workspace_id,
            f"org_{oid}",
            name,
            dumps(attrs),
            stamp(_ago(now, rng, 900)),
        )


def _contacts(
    stats: GenerateStats, kinds: bytearray, rng: random.Random, now: datetime, stamp: Stamp
) -> Iterator[tuple]:
    for index, cid in enumerate(stats.contact_ids):
        last_seen = _ago(now, rng, 90)
        first_seen = last_seen - timedelta(seconds=rng.random() * 400 * DAY)
        page = "https://app.example.com" + rng.choice(PAGES).format(n=_int(rng, 1, 9999))
        agent = rng.choice(AGENTS)
        if rng.random() < ANONYMOUS_SHARE:
            yield (
                cid,
                stats.workspace_id,
                None,
                None,
                None,
                None,
                "{}",
                False,
                stamp(first_seen),
                stamp(last_seen),
                page,
                agent,
            )
            continue
        verified = rng.random() < VERIFIED_SHARE
        kinds[index] = 2 if verified else 1
        first, last = rng.choice(FIRST), rng.choice(LAST)
        attrs = {
            "plan": rng.choice(PLANS),
            "country": rng.choice(COUNTRIES),
            "logins": _int(rng, 0, 5000),
            "beta": rng.random() < 0.2,
            "mrr": round(rng.random() * 900, 2),
            "signup": f"20{_int(rng, 18, 25)}-0{_int(rng, 1, 9)}-1{_int(rng, 0, 9)}",
        }
        email = f"{first}.{last}{cid}@{rng.choice(DOMAINS)}".lower()
        yield (
            cid,
            stats.workspace_id,
            f"usr_{cid}",
            email,
            f"{first} {last}",
            None,
            dumps(attrs),
            verified,
            stamp(first_seen),
            stamp(last_seen),
            page,
            agent,
        )


def _memberships(stats: GenerateStats, kinds: bytearray, rng: random.Random) -> Iterator[tuple]:
    orgs = stats.organization_ids
    if not orgs:
        return
    for index, cid in enumerate(stats.contact_ids):
        if not kinds[index]:
            continue  # anonymous visitors have no organizations
        count = rng.choices((1, 2, 3), (5, 3, 2))[0]
        for oid in sorted({orgs[rng.randrange(len(orgs))] for _ in range(count)}):
            yield (cid, oid)


def _conversation_time(cid: int, now: datetime) -> datetime:
    """Recent activity is denser (the inbox's first pages), like a real inbox; fixed per id."""
    share = ((cid * 2654435761) % 1_000_003) / 1_000_003
    return now - timedelta(seconds=share * share * 365 * DAY)


def _body(rng: random.Random) -> str:
    detail = rng.choice(DETAILS).format(n=_int(rng, 100, 99999))
    closing = rng.choice(("", "Thanks!", "It worked last week.", "Same for my colleague."))
    return f"{rng.choice(TOPICS)} {detail}. {closing}".rstrip()


def _draw_conversation(rng: random.Random, contacts: int) -> tuple[int, bool, float, str]:
    """One conversation's random parts: contact index, open?, age of its start, first message."""
    return rng.randrange(contacts), rng.random() < OPEN_SHARE, rng.random() * 3 * DAY, _body(rng)


def _conversations(
    stats: GenerateStats,
    rng: random.Random,
    now: datetime,
    stamp: Stamp,
    first_message_id: int | None,
) -> Iterator[tuple]:
    """`first_message_id`: set when the schema has the attention columns; each conversation's
    one message (see `_messages`) is then its last, from the visitor."""
    contact_ids = stats.contact_ids
    for offset, cid in enumerate(stats.conversation_ids):
        index, is_open, started, body = _draw_conversation(rng, len(contact_ids))
        last = _conversation_time(cid, now)
        row = (
            cid,
            stats.workspace_id,
            contact_ids[index],
            None,
            "open" if is_open else "closed",
            body[:200],
            stamp(last - timedelta(seconds=started)),
            stamp(last),
        )
        yield row if first_message_id is None else (*row, "contact", first_message_id + offset)


def _messages(
    stats: GenerateStats,
    kinds: bytearray,
    first_id: int,
    rng: random.Random,
    now: datetime,
    stamp: Stamp,
) -> Iterator[tuple]:
    """One contact message per conversation. `rng` is seeded like the conversations' own, so the
    draws replay exactly: same contact, same body, without holding a million rows in memory."""
    contacts = len(stats.contact_ids)
    for offset, cid in enumerate(stats.conversation_ids):
        index, _, _, body = _draw_conversation(rng, contacts)
        yield (
            first_id + offset,
            cid,
            "contact",
            None,
            body,
            kinds[index] == 2,
            stamp(_conversation_time(cid, now)),
        )


Stamp = Callable[[datetime], Any]


# --- loaders ---------------------------------------------------------------------------------


class _Loader:
    """How rows reach one backend; `stamp` turns an aware UTC datetime into what it stores."""

    def begin(self) -> None: ...
    def stamp(self, value: datetime) -> Any:
        return value

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        raise NotImplementedError

    def load(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
        raise NotImplementedError

    def has_column(self, table: str, column: str) -> bool:
        raise NotImplementedError

    def reset_sequences(self, tables: tuple[str, ...]) -> None: ...
    def finish(self) -> None: ...
    def analyze(self) -> None: ...


class _PostgresLoader(_Loader):
    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def begin(self) -> None:
        with self.connection.cursor() as cursor:
            # skip the per-row foreign-key triggers during the load (the rows are consistent by
            # construction); needs a superuser, else the load is merely slower
            cursor.execute("SAVEPOINT datagen_role")
            try:
                cursor.execute("SET LOCAL session_replication_role = replica")
            except Exception:  # noqa: BLE001 - psycopg.errors.InsufficientPrivilege
                cursor.execute("ROLLBACK TO SAVEPOINT datagen_role")
            cursor.execute("SET LOCAL synchronous_commit = off")

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        with self.connection.cursor() as cursor:
            row = cursor.execute(sql.replace("?", "%s"), params).fetchone()
            return row[0] if row else None

    def load(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
        count = 0
        with (
            self.connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def reset_sequences(self, tables: tuple[str, ...]) -> None:
        with self.connection.cursor() as cursor:
            for table in tables:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )

    def finish(self) -> None:
        self.connection.commit()

    def analyze(self) -> None:
        self.connection.execute("ANALYZE contact, organization, membership, conversation, message")

    def has_column(self, table: str, column: str) -> bool:
        return bool(
            self.scalar(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?",
                (table, column),
            )
        )


class _SQLiteLoader(_Loader):
    """The app's own format: naive-UTC `YYYY-MM-DD HH:MM:SS.ffffff` text, booleans as 0/1."""

    def __init__(self, connection: sqlite3.Connection, *, commit_chunks: bool) -> None:
        self.connection = connection
        self.commit_chunks = commit_chunks

    def begin(self) -> None:
        if self.commit_chunks:
            for pragma in ("synchronous=OFF", "cache_size=-400000", "temp_store=MEMORY"):
                self.connection.execute(f"PRAGMA {pragma}")
            self.connection.execute("BEGIN IMMEDIATE")

    def stamp(self, value: datetime) -> str:
        # every generated time is derived from a UTC `now`, so cutting the "+00:00" is exact
        return value.isoformat(" ", "microseconds")[:26]

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self.connection.execute(sql, params).fetchone()
        return row[0] if row else None

    def load(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        iterator, count = iter(rows), 0
        while True:
            chunk = [row for _, row in zip(range(CHUNK), iterator, strict=False)]
            if not chunk:
                return count
            self.connection.executemany(sql, chunk)
            count += len(chunk)
            if self.commit_chunks:
                self.connection.execute("COMMIT")
                self.connection.execute("BEGIN IMMEDIATE")

    def finish(self) -> None:
        if self.commit_chunks:
            self.connection.execute("COMMIT")
            self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def analyze(self) -> None:
        self.connection.execute("ANALYZE")

    def has_column(self, table: str, column: str) -> bool:
        return bool(
            self.scalar("SELECT count(*) FROM pragma_table_info(?) WHERE name = ?", (table, column))
        )


# --- command line: python -m bench.datagen --------------------------------------------------


@click.command("generate-data")
@click.option("--contacts", default=1_000_000, show_default=True)
@click.option("--organizations", default=100_000, show_default=True)
@click.option("--conversations", default=1_000_000, show_default=True)
@click.option("--app-id", default=None, help="Workspace to fill; created when missing.")
@click.option("--seed", default=1, show_default=True)
def generate_command(
    contacts: int, organizations: int, conversations: int, app_id: str | None, seed: int
) -> None:
    """Append a generated data set (for benchmarks) to the configured database's workspace;
    prints its app id. The database is the one `promptify` would use (DATABASE_URL)."""
    from promptify import create_app
    from promptify.extensions import db

    with create_app().app_context():
        url = db.engine.url.render_as_string(hide_password=False)
        db.engine.dispose()  # the generator opens its own connection and commits per chunk
    started = time.perf_counter()
    stats = generate(
        url,
        contacts,
        organizations,
        conversations,
        app_id,
        seed=seed,
        echo=lambda line: click.echo(line, err=True),
    )
    click.echo(f"done in {time.perf_counter() - started:.1f} s", err=True)
    click.echo(stats.app_id)


if __name__ == "__main__":
    generate_command()
