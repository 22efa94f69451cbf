"""`promptify operator …` (docs/operations.md, "Command line"): create refuses an email that
exists; reset-password, set-role, disable and enable change one operator, end every console
session of theirs, and never leave the installation without an active admin."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from promptify.extensions import db
from promptify.models import Operator
from tests.conftest import csrf_token_from

PASSWORD = {"PROMPTIFY_PASSWORD": "correct horse battery"}


def _create(runner, email: str, role: str = "agent"):  # type: ignore[no-untyped-def]
    return runner.invoke(args=["operator", "create", email, "--role", role], env=PASSWORD)


def _operator(app, email: str) -> Operator:
    with app.app_context():
        found = db.session.scalar(select(Operator).where(Operator.email == email))
        assert found is not None
        db.session.expunge(found)
        return found


def _signed_in(app, email: str, password: str = "correct horse battery"):  # type: ignore[no-untyped-def]
    browser = app.test_client()
    token = csrf_token_from(browser.get("/login").get_data(as_text=True))
    response = browser.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    assert browser.get("/profile").status_code == 200
    return browser


@pytest.fixture
def admin(app, runner) -> str:
    assert _create(runner, "ada@acme.test", "admin").exit_code == 0
    return "ada@acme.test"


def test_create_refuses_an_existing_email_and_changes_nothing(app, runner, admin):
    before = _operator(app, admin)
    again = runner.invoke(
        args=["operator", "create", "ADA@acme.test", "--role", "agent"],
        env={"PROMPTIFY_PASSWORD": "another long password"},
    )
    assert again.exit_code != 0 and "exists" in again.output and "reset-password" in again.output
    after = _operator(app, admin)
    assert (after.role, after.active, after.password_hash) == (
        before.role,
        before.active,
        before.password_hash,
    )


def test_create_refuses_a_short_password(runner):
    result = runner.invoke(
        args=["operator", "create", "bo@acme.test"], env={"PROMPTIFY_PASSWORD": "short"}
    )
    assert result.exit_code != 0 and "8" in result.output


def test_reset_password_ends_every_session_of_the_operator(app, runner, admin):
    browser = _signed_in(app, admin)
    result = runner.invoke(
        args=["operator", "reset-password", admin], env={"PROMPTIFY_PASSWORD": "a brand new one"}
    )
    assert result.exit_code == 0, result.output
    assert browser.get("/profile").status_code == 302  # the copied cookie no longer signs in
    assert check_password_hash(_operator(app, admin).password_hash, "a brand new one")
    _signed_in(app, admin, "a brand new one")


def test_set_role_disable_and_enable_end_sessions_and_keep_an_active_admin(app, runner, admin):
    assert _create(runner, "ben@acme.test").exit_code == 0
    browser = _signed_in(app, "ben@acme.test")
    assert runner.invoke(args=["operator", "set-role", "ben@acme.test", "admin"]).exit_code == 0
    assert browser.get("/profile").status_code == 302
    assert _operator(app, "ben@acme.test").role == "admin"

    browser = _signed_in(app, "ben@acme.test")
    assert runner.invoke(args=["operator", "disable", "ben@acme.test"]).exit_code == 0
    assert browser.get("/profile").status_code == 302
    refused = runner.invoke(args=["operator", "disable", admin])  # the last active admin
    assert refused.exit_code != 0 and "last admin" in refused.output
    demoted = runner.invoke(args=["operator", "set-role", admin, "agent"])
    assert demoted.exit_code != 0 and "last admin" in demoted.output
    assert _operator(app, admin).role == "admin" and _operator(app, admin).active

    assert runner.invoke(args=["operator", "enable", "ben@acme.test"]).exit_code == 0
    assert browser.get("/profile").status_code == 302  # enabling never revives an old session
    _signed_in(app, "ben@acme.test")


@pytest.mark.parametrize("command", ["reset-password", "set-role", "disable", "enable"])
def test_an_unknown_email_is_refused(runner, command):
    args = ["operator", command, "nobody@acme.test"] + (["agent"] if command == "set-role" else [])
    result = runner.invoke(args=args, env=PASSWORD)
    assert result.exit_code != 0 and "no operator" in result.output
