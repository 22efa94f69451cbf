"""Unbound extension instances; `register_extensions` binds them to an app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from promptify.models import Base

db = SQLAlchemy(model_class=Base)
# Execution option of a transaction that will write: on SQLite it begins with BEGIN IMMEDIATE.
WRITE_TRANSACTION = "promptify_write"
migrate = Migrate(
    directory=str(Path(__file__).parent / "migrations"), render_as_batch=True, compare_type=True
)
csrf = CSRFProtect()
login_manager = LoginManager()
# Storage is memory:// unless PROMPTIFY_RATELIMIT_STORAGE_URI names Redis (shared by all workers).
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    limiter.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE for write transactions only: concurrent writers
    queue on the write lock instead of failing, while readers never wait (WAL)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # let the "begin" hook below emit BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        write = connection.get_execution_options().get(WRITE_TRANSACTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
