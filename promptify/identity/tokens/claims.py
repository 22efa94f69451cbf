"""The registered-claim checks of a verified identity JWT (RFC 7519 §4.1).

exp, nbf, iat, aud, jti, iss and sub, each a step of the `tokens` pipeline: a check returns the
token tester's message on success and raises ApiError on failure. Also how a token value
is quoted in those messages. The rules are the claim table of docs/identification.md,
"Signed identification". Pure: stdlib only, time passed in as POSIX seconds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from ..errors import ApiError

MAX_JTI_LENGTH = 255


class ClaimContext(Protocol):
    """What the claim checks read of the pipeline's state (tokens' context fits)."""

    app_id: str
    now: float
    leeway: int
    max_lifetime: int
    claims: dict[str, Any] | None


# --- quoting token values in messages -------------------------------------------------------


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def show(value: object) -> str:
    """A short JSON rendering of a token value for messages (never the whole token)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= 64 else text[:61] + "..."


def _iso(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return "a date outside years 1-9999"


def _seconds(later: float, earlier: float) -> str:
    """later - earlier in whole seconds for messages; an int NumericDate can exceed a float."""
    try:
        difference = later - earlier
    except OverflowError:
        difference = math.inf
    return f"{difference:.0f}" if abs(difference) < 1e12 else "more than 10^12"


# --- reading claims -------------------------------------------------------------------------


def _invalid(message: str) -> ApiError:
    return ApiError("jwt_invalid_claims", message)


def _numeric_claim(claims: Mapping[str, Any], name: str) -> int | float | None:
    """RFC 7519 §2 NumericDate: an int or finite float; a bool is not a number here."""
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):  # 1e400 parses to inf
        return value
    kind = "an out-of-range number" if isinstance(value, float) else json_type(value)
    raise _invalid(
        f"'{name}' must be a NumericDate (seconds since 1970-01-01 UTC as a number), not {kind}."
    )


def _claims(ctx: ClaimContext) -> dict[str, Any]:
    assert ctx.claims is not None
    return ctx.claims


# --- the checks -----------------------------------------------------------------------------


def check_exp(ctx: ClaimContext) -> str:
    """exp required, not expired beyond leeway, at most max_lifetime ahead."""
    claims = _claims(ctx)
    if claims.get("exp") is None:
        raise ApiError(
            "jwt_missing_exp",
            "The token has no 'exp' claim. Give it a short expiry when signing, e.g. "
            '.setExpirationTime("5m") with jose, or exp = now + 300 (seconds).',
        )
    exp = _numeric_claim(claims, "exp")
    assert exp is not None
    if exp <= ctx.now - ctx.leeway:
        raise ApiError(
            "jwt_expired",
            f"The token expired at {_iso(exp)}, {_seconds(ctx.now, exp)} s ago (leeway "
            f"{ctx.leeway} s). Sign a fresh token for each page load, e.g. "
            '.setExpirationTime("5m"), and check your server\'s clock.',
        )
    if exp > ctx.now + ctx.max_lifetime + ctx.leeway:
        raise _invalid(
            f"'exp' is {_seconds(exp, ctx.now)} s ahead ({_iso(exp)}); at most "
            f"{ctx.max_lifetime} s are accepted. Sign short-lived tokens, e.g. "
            '.setExpirationTime("5m"), and give exp in seconds, not milliseconds.',
        )
    return f"Expires at {_iso(exp)}, in {_seconds(exp, ctx.now)} s."


def check_nbf(ctx: ClaimContext) -> str:
    """nbf honoured if present (leeway applies)."""
    nbf = _numeric_claim(_claims(ctx), "nbf")
    if nbf is None:
        return "No 'nbf' claim (optional)."
    if nbf > ctx.now + ctx.leeway:
        raise ApiError(
            "jwt_not_yet_valid",
            f"The token is not valid before {_iso(nbf)} ('nbf' is {_seconds(nbf, ctx.now)} s "
            f"ahead, leeway {ctx.leeway} s). Leave nbf out or set it to the signing time, and "
            "check your server's clock.",
        )
    return f"Valid since {_iso(nbf)}."


def check_iat(ctx: ClaimContext) -> str:
    """An iat in the future beyond leeway is jwt_not_yet_valid."""
    iat = _numeric_claim(_claims(ctx), "iat")
    if iat is None:
        return "No 'iat' claim (optional)."
    if iat > ctx.now + ctx.leeway:
        raise ApiError(
            "jwt_not_yet_valid",
            f"'iat' (issued at) is {_iso(iat)}, {_seconds(iat, ctx.now)} s in the future (leeway "
            f"{ctx.leeway} s). Your server's clock is ahead: sync it (NTP) or leave iat out.",
        )
    return f"Issued at {_iso(iat)}."


def check_aud(ctx: ClaimContext) -> str:
    """aud, when present, is (or contains) the workspace's app id."""
    claims = _claims(ctx)
    if "aud" not in claims:
        return "No 'aud' claim (optional)."
    aud = claims["aud"]
    if aud == ctx.app_id or (
        isinstance(aud, list) and all(isinstance(a, str) for a in aud) and ctx.app_id in aud
    ):
        return f"'aud' names this workspace ({ctx.app_id})."
    raise _invalid(
        f"'aud' is {show(aud)}, but this workspace's app id is {show(ctx.app_id)}. Set aud "
        f"to {show(ctx.app_id)} (or a list of strings containing it), or leave aud out."
    )


def check_jti(ctx: ClaimContext) -> str:
    """Optional jti, a non-empty string of at most 255 characters."""
    claims = _claims(ctx)
    if "jti" not in claims:
        return "No 'jti' claim: the token can be reused until it expires."
    jti = claims["jti"]
    if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI_LENGTH:
        raise _invalid(
            f"'jti' must be a non-empty string of at most {MAX_JTI_LENGTH} characters (e.g. a "
            f"random UUID) or left out; got {json_type(jti)}"
            + (f" of {len(jti)} characters." if isinstance(jti, str) else ".")
        )
    return "'jti' is well-formed (the tester never consumes it)."


def check_iss_sub(ctx: ClaimContext) -> str:
    """RFC 7519 §4.1.1-2: iss and sub, when present, are strings."""
    claims = _claims(ctx)
    for name in ("iss", "sub"):
        if name in claims and not isinstance(claims[name], str):
            raise _invalid(f"'{name}' must be a string or left out, not {json_type(claims[name])}.")
    return "'iss' and 'sub' are strings or absent."
