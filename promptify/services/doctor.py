"""`promptify doctor` (docs/operations.md, "Doctor"): the conditions that break installations,
one verdict each. Every check is a plain function of the configuration and what it can reach,
so each can be shown failing on its own."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from promptify.models import AllowedOrigin, SigningKey, Workspace
from promptify.services import mail
from promptify.services.schema import SchemaState, code_head, newer_schema_message, state


@dataclass(frozen=True)
class Verdict:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Installation:
    """What the checks look at: the configuration as the server would load it, its instance
    folder and how many server processes share it."""

    config: Mapping[str, Any]
    instance: Path
    processes: int


def run(installation: Installation) -> list[Verdict]:
    verdicts = []
    for name, check in CHECKS:
        try:
            ok, detail = check(installation)
        except Exception as error:  # a check that cannot run is a failure, with the reason
            ok, detail = False, f"{type(error).__name__}: {error}"
        verdicts.append(Verdict(name, ok, detail))
        if name in ("database", "schema") and not ok:
            break  # every later check reads the tables
    return verdicts


def _database(installation: Installation) -> tuple[bool, str]:
    url = installation.config["SQLALCHEMY_DATABASE_URI"]
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        return False, f"unreachable: {type(cause).__name__}"
    finally:
        engine.dispose()
    return True, f"reachable ({engine.url.get_backend_name()})"


def _schema(installation: Installation) -> tuple[bool, str]:
    current, revision = state(installation.config["SQLALCHEMY_DATABASE_URI"])
    if current == SchemaState.CURRENT:
        return True, f"up to date (revision {revision})"
    if current == SchemaState.NEWER:
        return False, newer_schema_message(revision or "")
    if current == SchemaState.EMPTY:
        return False, "no schema yet: run `promptify db upgrade`"
    return False, f"migrations pending ({revision} → {code_head()}): run `promptify db upgrade`"


def _secret_key(installation: Installation) -> tuple[bool, str]:
    key = str(installation.config.get("SECRET_KEY") or "")
    if len(key) < 32:
        return False, "missing or shorter than 32 characters: sessions could be forged"
    stored = installation.instance / "secret_key"
    if stored.is_file() and stored.read_text().strip() == key:
        if installation.processes > 1 and stored.stat().st_mode & 0o077:
            return False, f"{stored} is readable by other users: chmod 600 it"
        return True, f"from {stored}: shared by every process using this instance folder"
    return True, "from the configuration (PROMPTIFY_SECRET_KEY or instance/config.py)"


def _rate_limits(installation: Installation) -> tuple[bool, str]:
    uri = str(installation.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if uri.startswith("memory://"):
        if installation.processes > 1:
            return False, (
                f"kept in each process's memory while {installation.processes} processes serve: "
                "set PROMPTIFY_RATELIMIT_STORAGE_URI=redis://… so they count together"
            )
        return True, "in memory (one process)"
    if uri.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(uri, socket_timeout=3, socket_connect_timeout=3)
        try:
            client.ping()
        except redis.RedisError as error:
            return False, f"{_without_password(uri)} unreachable: {type(error).__name__}"
        finally:
            client.close()
        return True, f"shared in {_without_password(uri)}"
    return True, f"shared in {_without_password(uri)}"


def _signing_keys(installation: Installation) -> tuple[bool, str]:
    engine = create_engine(installation.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as connection:
            current_key = (
                select(func.count())
                .where(
                    SigningKey.workspace_id == Workspace.id,
                    SigningKey.retired_at.is_(None),
                    SigningKey.revoked_at.is_(None),
                )
                .scalar_subquery()
            )
            stranded = (
                connection.execute(
                    select(Workspace.app_id).where(
                        Workspace.require_jwt.is_(True), current_key == 0
                    )
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    if stranded:
        return False, (
            f"signed identification is required but no current key exists in {', '.join(stranded)}: "
            "every identified visitor is refused; add a key in Settings › Messenger › Security"
        )
    return True, "every workspace that requires signed identification has a current key"


def _origins(installation: Installation) -> tuple[bool, str]:
    engine = create_engine(installation.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as connection:
            has_origin = (
                select(func.count())
                .where(AllowedOrigin.workspace_id == Workspace.id)
                .scalar_subquery()
            )
            open_to_all = (
                connection.execute(select(Workspace.app_id).where(has_origin == 0)).scalars().all()
            )
    finally:
        engine.dispose()
    if open_to_all:
        return False, (
            f"no allowed origins in {', '.join(open_to_all)}: any website can call its widget API; "
            "list your sites in Settings › Messenger › Installation"
        )
    return True, "every workspace lists its allowed origins"


def _mail(installation: Installation) -> tuple[bool, str]:
    settings = mail.MailSettings.from_config(installation.config)  # ValueError when malformed
    if settings is None:
        return True, "off (PROMPTIFY_SMTP_URL unset): no email notifications"
    connection = settings.server.connect()
    try:
        connection.noop()
    finally:
        connection.close()
    return (
        True,
        f"{settings.server.host}:{settings.server.port} answers; sending as {settings.sender}",
    )


def _without_password(uri: str) -> str:
    head, _, tail = uri.partition("@")
    return f"{head.split(':')[0]}://…@{tail}" if tail else uri


CHECKS: tuple[tuple[str, Callable[[Installation], tuple[bool, str]]], ...] = (
    ("database", _database),
    ("schema", _schema),
    ("secret key", _secret_key),
    ("rate limits", _rate_limits),
    ("signing keys", _signing_keys),
    ("allowed origins", _origins),
    ("email", _mail),
)
