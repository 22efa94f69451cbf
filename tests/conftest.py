"""Shared fixtures: a real database per backend (SQLite file and a throw-away PostgreSQL database),
a fresh app per test on it, and a controllable clock. Nothing is mocked."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from promptify import create_app
from promptify.extensions import db

PG_ADMIN_URL = os.environ.get(
    "PROMPTIFY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=[*BACKENDS, "both"],
        default=os.environ.get("PROMPTIFY_TEST_DB", "both"),
        help="database backend(s) for integration tests",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        backends = BACKENDS if choice == "both" else (choice,)
        if "/tests/browser/" in str(metafunc.definition.fspath).replace(os.sep, "/"):
            # the browser tier tests pages, not storage: one backend is enough
            backends = ("sqlite",) if "sqlite" in backends else backends[:1]
        if metafunc.definition.get_closest_marker("postgresql_only"):
            backends = tuple(b for b in backends if b == "postgresql")
        metafunc.parametrize("database_url", backends, indirect=True, scope="session")


class Clock:
    """A clock the tests move by hand (no sleeping, no freezegun)."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "migrate"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _create_postgres_database() -> str:
    name = f"promptify_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - any connection failure means "unreachable"
        message = f"PostgreSQL at {make_url(PG_ADMIN_URL).host} is unreachable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    finally:
        admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(url: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'promptify.sqlite'}"
        _migrate(url)
        yield url
        return
    url = _create_postgres_database()
    try:
        _migrate(url)
        yield url
    finally:
        _drop_postgres_database(url)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app(database_url: str, clock: Clock, tmp_path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret-key",
            "CLOCK": clock,
        }
    )
    app.instance_path = str(tmp_path / "instance")  # demo keys and such never land in the checkout
    with app.app_context():
        _empty_all_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


# --- console helpers (CSRF stays ON: tokens are read from the pages, as a browser would) -----

CSRF_PATTERN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token_from(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


WORKSPACE_FIELD_PATTERN = re.compile(r'name="workspace" value="([^"]+)"')


def settings_form_fields(client, path: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What a settings form at `path` posts besides its own fields, read from the page as a
    browser would: the CSRF token and the workspace the form was rendered for."""
    html = client.get(path).get_data(as_text=True)
    match = WORKSPACE_FIELD_PATTERN.search(html)
    assert match, f"no workspace field on {path}"
    return {"csrf_token": csrf_token_from(html), "workspace": match.group(1)}


@pytest.fixture
def login(app, client):
    """`login("admin")` creates an operator of that role and signs the test client in."""
    from promptify import clock as app_clock
    from promptify.services import operators

    def sign_in(
        role: str = "admin", email: str | None = None, password: str = "a long password"
    ) -> str:
        address = email or f"{role}-{secrets.token_hex(3)}@example.com"
        with app.app_context():
            operators.create_operator(
                address, role.capitalize(), role, password, now=app_clock.now()
            )
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"email": address, "password": password, "csrf_token": token}
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        return address

    return sign_in


@pytest.fixture
def csrf(client):
    """The CSRF token of the signed-in client's session, read from a console page."""

    def token(path: str = "/inbox") -> str:
        return csrf_token_from(client.get(path).get_data(as_text=True))

    return token
