"""The `promptify` command: thin wrappers over the services, results on stdout, messages on stderr."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from sqlalchemy import delete, select
from werkzeug.security import check_password_hash

from promptify.extensions import db
from promptify.models import Operator, Workspace
from tests.conftest import csrf_token_from


def test_workspace_create_prints_only_the_app_id(app, runner):
    result = runner.invoke(
        args=["workspace", "create", "Acme", "--origin", "https://App.Acme.test/"]
    )
    assert result.exit_code == 0, result.output
    app_id = result.stdout.strip()
    assert app_id.startswith("app_") and len(app_id) == 24
    with app.app_context():
        workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
        assert workspace.name == "Acme"
        assert [o.origin for o in workspace.origins] == ["https://app.acme.test"]


def test_workspace_create_refuses_a_bad_origin(runner):
    result = runner.invoke(
        args=["workspace", "create", "Acme", "--origin", "https://acme.test/path"]
    )
    assert result.exit_code != 0
    assert "scheme, host and port" in result.output


def test_require_jwt_on_and_off(app, runner):
    app_id = runner.invoke(args=["workspace", "create", "Acme"]).stdout.strip()
    assert runner.invoke(args=["workspace", "require-jwt", app_id, "on"]).exit_code == 0
    with app.app_context():
        assert (
            db.session.scalar(select(Workspace.require_jwt).where(Workspace.app_id == app_id))
            is True
        )
    assert runner.invoke(args=["workspace", "require-jwt", app_id, "off"]).exit_code == 0
    with app.app_context():
        assert (
            db.session.scalar(select(Workspace.require_jwt).where(Workspace.app_id == app_id))
            is False
        )
    unknown = runner.invoke(args=["workspace", "require-jwt", "app_nope", "on"])
    assert unknown.exit_code != 0


def test_operator_create_reads_the_password_from_the_environment(app, runner):
    result = runner.invoke(
        args=["operator", "create", "Admin@Acme.test", "--role", "admin"],
        env={"PROMPTIFY_PASSWORD": "correct horse battery"},
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        operator = db.session.scalar(select(Operator))
        assert operator.email == "admin@acme.test" and operator.role == "admin"
        assert check_password_hash(operator.password_hash, "correct horse battery")
        assert "correct horse" not in operator.password_hash


def test_operator_create_prompts_when_no_password_is_set(app, runner):
    result = runner.invoke(
        args=["operator", "create", "agent@acme.test"],
        input="long enough pw\nlong enough pw\n",
        env={"PROMPTIFY_PASSWORD": ""},
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(Operator.role)) == "agent"


def test_demo_prints_app_id_and_a_working_curl(app, runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "curl -s -X POST http://127.0.0.1:5000/widget/v1/apps/app_" in result.output
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    with app.app_context():
        assert len(db.session.scalars(select(Workspace)).all()) == 1  # idempotent


def _printed_password(output: str) -> str:
    return re.search(r"email admin@example\.com, password (\S+)\)", output).group(1)


def test_demo_keeps_its_admin_password_across_runs(app, runner, client):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    password = _printed_password(first.output)
    stored = Path(app.instance_path) / "demo" / "admin-password"
    assert stored.read_text().strip() == password
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600  # like the demo's private key
    with app.app_context():  # as with a recreated database: the operator is set up again
        db.session.execute(delete(Operator))
        db.session.commit()

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert _printed_password(again.output) == password
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    signed_in = client.post(
        "/login", data={"email": "admin@example.com", "password": password, "csrf_token": token}
    )
    assert signed_in.status_code == 303, signed_in.get_data(as_text=True)
    assert client.get("/inbox").status_code == 200
