"""The token tester of the Security page: every verification step's verdict, read-only.

It never consumes a `jti` and never writes a contact: it only reads the keys and the used-jti table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from promptify.extensions import db
from promptify.identity.errors import ApiError
from promptify.identity.payload import parse_user_payload
from promptify.identity.tokens import CheckStep, inspect_jwt, verify_jwt
from promptify.models import UsedJti, Workspace
from promptify.services import keys as keys_service
from promptify.services.policy import Policy


def check_token(
    workspace: Workspace, token: str, *, now: datetime, policy: Policy
) -> list[CheckStep]:
    """The verifier's own steps, then the jti status and the payload field rules."""
    options: dict[str, Any] = {
        "app_id": workspace.app_id,
        "now": now,
        "leeway": int(policy.jwt_leeway.total_seconds()),
        "max_lifetime": int(policy.max_token_lifetime.total_seconds()),
    }
    keys = keys_service.usable_keys(workspace, now=now, policy=policy)
    steps = inspect_jwt(token, keys, **options)
    if any(step.passed is not True for step in steps):
        skipped = "Not checked: an earlier check failed."
        return [
            *steps,
            CheckStep("jti status", None, skipped),
            CheckStep("payload fields", None, skipped),
        ]
    verified = verify_jwt(token, keys, **options)
    return [*steps, _jti_step(workspace, verified.jti, now), _payload_step(verified.claims)]


def _jti_step(workspace: Workspace, jti: str | None, now: datetime) -> CheckStep:
    if jti is None:
        return CheckStep("jti status", True, "No jti: the token can be used until it expires.")
    used = db.session.scalar(
        select(UsedJti.id).where(
            UsedJti.workspace_id == workspace.id, UsedJti.jti == jti, UsedJti.expires_at >= now
        )
    )
    if used is not None:
        return CheckStep(
            "jti status",
            False,
            f"The jti {jti[:80]!r} was already used; the token would be refused as a replay.",
            "jwt_replayed",
        )
    return CheckStep(
        "jti status", True, f"The jti {jti[:80]!r} is unused (testing does not consume it)."
    )


def _payload_step(claims: dict) -> CheckStep:
    try:
        parse_user_payload(claims, signed=True)
    except ApiError as error:
        where = f" (at {error.field})" if error.field else ""
        return CheckStep("payload fields", False, f"{error.message}{where}", error.code)
    return CheckStep("payload fields", True, "The user fields follow the setUser rules.")
