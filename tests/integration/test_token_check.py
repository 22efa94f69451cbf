"""The read-only token tester: verdicts per step, no jti consumed, no contact written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from promptify.config import current_policy
from promptify.extensions import db
from promptify.models import UsedJti, Workspace
from promptify.services.token_check import check_token
from tests.factories import (
    add_key,
    identify,
    make_private_key,
    make_workspace,
    sign,
    stored_contacts,
)


@pytest.fixture
def setup(app, clock):
    app_id = make_workspace(app)
    key = make_private_key("Ed25519")
    add_key(app, app_id, key)
    return app_id, key


def _check(app, app_id, token, clock):
    with app.app_context():
        workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
        steps = check_token(workspace, token, now=clock.current, policy=current_policy())
        return {step.name: step for step in steps}


def _exp(clock, seconds=300):
    return int(clock.current.timestamp()) + seconds


def test_good_token_passes_every_step_and_consumes_nothing(app, client, setup, clock):
    app_id, key = setup
    token = sign(key, {"id": "u1", "exp": _exp(clock), "jti": "t-1"})
    steps = _check(app, app_id, token, clock)
    assert all(step.passed for step in steps.values()), steps
    assert "jti status" in steps and "payload fields" in steps
    assert stored_contacts(app) == []
    with app.app_context():
        assert db.session.scalars(select(UsedJti)).all() == []
    assert identify(client, app_id, {"jwt": token}).status_code == 200  # still usable afterwards


def test_expired_token_fails_at_expiry(app, setup, clock):
    app_id, key = setup
    steps = _check(app, app_id, sign(key, {"id": "u1", "exp": _exp(clock, -120)}), clock)
    failed = [s for s in steps.values() if s.passed is False]
    assert len(failed) == 1 and failed[0].code == "jwt_expired"
    assert steps["payload fields"].passed is None


def test_replayed_token_is_reported(app, client, setup, clock):
    app_id, key = setup
    token = sign(key, {"id": "u1", "exp": _exp(clock), "jti": "used"})
    assert identify(client, app_id, {"jwt": token}).status_code == 200
    steps = _check(app, app_id, token, clock)
    assert steps["jti status"].passed is False and steps["jti status"].code == "jwt_replayed"


def test_wrong_key_fails_the_signature(app, setup, clock):
    app_id, _ = setup
    steps = _check(
        app, app_id, sign(make_private_key("Ed25519"), {"id": "u1", "exp": _exp(clock)}), clock
    )
    assert [s.code for s in steps.values() if s.passed is False] == ["jwt_bad_signature"]


def test_payload_errors_are_reported_with_their_field(app, setup, clock):
    app_id, key = setup
    steps = _check(
        app,
        app_id,
        sign(key, {"id": "u1", "exp": _exp(clock), "avatarURL": "https://x.test/a"}),
        clock,
    )
    assert steps["payload fields"].passed is False
    assert "avatarUrl" in steps["payload fields"].message
