"""`promptify doctor` (docs/operations.md, "Doctor"): passes on a healthy installation and fails
on each broken condition it claims to check, one test per check."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import text

from promptify.extensions import db
from promptify.services import doctor
from promptify.services.schema import code_head
from tests.factories import make_workspace

HEALTHY_KEY = "k" * 48


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


@pytest.fixture
def healthy(app):
    """An installation with nothing wrong: one workspace with its origins, one process."""
    make_workspace(app, origins=["https://app.acme.test"])
    app.config["SECRET_KEY"] = HEALTHY_KEY
    return app


def _verdicts(app, processes: int = 1, **config) -> dict[str, doctor.Verdict]:  # type: ignore[no-untyped-def]
    installation = doctor.Installation(
        config={**app.config, **config}, instance=Path(app.instance_path), processes=processes
    )
    return {v.name: v for v in doctor.run(installation)}


def _failed(verdicts: dict[str, doctor.Verdict]) -> set[str]:
    return {name for name, verdict in verdicts.items() if not verdict.ok}


def test_a_healthy_installation_passes_every_check(healthy):
    verdicts = _verdicts(healthy)
    assert set(verdicts) == {name for name, _ in doctor.CHECKS}
    assert _failed(verdicts) == set(), verdicts


def test_an_unreachable_database_fails_and_stops_there(healthy):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/nowhere"
    verdicts = _verdicts(healthy, SQLALCHEMY_DATABASE_URI=url)
    assert list(verdicts) == ["database"] and not verdicts["database"].ok


@pytest.mark.parametrize(
    ("revision", "said"), [("0001", "migrations pending"), ("9999", "newer release")]
)
def test_a_schema_behind_or_ahead_of_the_code_fails(healthy, revision, said):
    with healthy.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
        db.session.commit()
    try:
        verdicts = _verdicts(healthy)
        assert list(verdicts) == ["database", "schema"]  # later checks read tables: not run
        assert _failed(verdicts) == {"schema"} and said in verdicts["schema"].detail
    finally:
        with healthy.app_context():
            db.session.execute(
                text("UPDATE alembic_version SET version_num = :r"), {"r": code_head()}
            )
            db.session.commit()


def test_a_missing_or_short_secret_key_fails(healthy):
    assert _failed(_verdicts(healthy, SECRET_KEY="short")) == {"secret key"}
    assert _failed(_verdicts(healthy, SECRET_KEY="")) == {"secret key"}


def test_a_secret_key_file_others_can_read_fails_when_several_processes_share_it(healthy):
    instance = Path(healthy.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "secret_key").write_text(HEALTHY_KEY)
    (instance / "secret_key").chmod(0o644)
    verdicts = _verdicts(healthy, processes=2, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0")
    assert _failed(verdicts) == {"secret key"}
    (instance / "secret_key").chmod(0o600)
    assert (
        _failed(_verdicts(healthy, processes=2, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0"))
        == set()
    )


def test_rate_limits_in_memory_fail_when_several_processes_serve(healthy):
    assert _failed(_verdicts(healthy, processes=1)) == set()
    verdicts = _verdicts(healthy, processes=4)
    assert _failed(verdicts) == {"rate limits"} and "redis://" in verdicts["rate limits"].detail


def test_an_unreachable_redis_fails(healthy):
    verdicts = _verdicts(
        healthy, RATELIMIT_STORAGE_URI=f"redis://:secret@127.0.0.1:{_closed_port()}/0"
    )
    assert _failed(verdicts) == {"rate limits"}
    assert "secret" not in verdicts["rate limits"].detail  # the password is never printed


def test_required_signed_identification_without_a_current_key_fails(healthy):
    app_id = make_workspace(healthy, origins=["https://shop.example"], require_jwt=True)
    verdicts = _verdicts(healthy)
    assert _failed(verdicts) == {"signing keys"} and app_id in verdicts["signing keys"].detail


def test_a_workspace_without_allowed_origins_fails(healthy):
    app_id = make_workspace(healthy)
    verdicts = _verdicts(healthy)
    assert _failed(verdicts) == {"allowed origins"} and app_id in verdicts["allowed origins"].detail


@pytest.mark.parametrize(
    "url",
    ["smtp://127.0.0.1:{port}", "ftp://mail.example", "smtp://user:pw@127.0.0.1:{port}"],
    ids=["refused", "wrong-scheme", "password-in-the-clear"],
)
def test_broken_mail_settings_fail(healthy, url):
    verdicts = _verdicts(healthy, SMTP_URL=url.format(port=_closed_port()))
    assert _failed(verdicts) == {"email"}
    assert "pw" not in verdicts["email"].detail


def test_a_mail_server_that_answers_passes(healthy):
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=_closed_port())
    controller.start()
    try:
        verdicts = _verdicts(healthy, SMTP_URL=f"smtp://127.0.0.1:{controller.port}")
        assert _failed(verdicts) == set() and "answers" in verdicts["email"].detail
    finally:
        controller.stop()
