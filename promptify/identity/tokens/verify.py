"""Verification of customer-signed identity JWTs (docs/security.md, "The checks, in order").

Pure: stdlib + joserfc + cryptography, time passed in, no jti storage. The checks run as one
ordered pipeline of steps (`_STEPS`); `verify_jwt` raises at the first failing step and
`inspect_jwt` (the console's token tester) reports every step, so the two cannot drift.
The joserfc registry and key import live in `algorithms`, the registered-claim checks in
`claims`; both are re-exported here. The lax joserfc defaults these checks replace are pinned
by `TestJoserfcTraps` in tests/unit/test_tokens.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import (
    BadSignatureError,
    InvalidKeyCurveError,
    InvalidKeyTypeError,
    JoseError,
)
from joserfc.util import urlsafe_b64decode

from ..errors import ApiError
from ..strict_json import StrictJSONError, loads_strict
from .algorithms import (
    ALGORITHMS_BY_KEY_TYPE,
    KEY_HEADERS,
    KEY_TYPE_BY_ALGORITHM,
    MAX_HEADER_LENGTH,
    MAX_SIGNATURE_LENGTH,
    MAX_TOKEN_LENGTH,
    REFUSED_HEADERS,
    REGISTRIES,
    SIGNATURE_ALGORITHMS,
    SUPPORTED_ALGORITHMS,
    VerificationKey,
    import_public_key,
    jws_registry,
)
from .claims import (
    MAX_JTI_LENGTH,
    check_aud,
    check_exp,
    check_iat,
    check_iss_sub,
    check_jti,
    check_nbf,
    json_type,
    show,
)

__all__ = [
    "ALGORITHMS_BY_KEY_TYPE",
    "ALLOWED_TYP",
    "CHECK_NAMES",
    "KEY_TYPE_BY_ALGORITHM",
    "MAX_HEADER_LENGTH",
    "MAX_JTI_LENGTH",
    "MAX_SIGNATURE_LENGTH",
    "MAX_TOKEN_LENGTH",
    "SIGNATURE_ALGORITHMS",
    "SUPPORTED_ALGORITHMS",
    "CheckStep",
    "VerificationKey",
    "VerifiedToken",
    "import_public_key",
    "inspect_jwt",
    "jws_registry",
    "verify_jwt",
]

ALLOWED_TYP = ("jwt", "application/jwt")

_SETTINGS = "Settings › Messenger › Security"
_ALG_LIST = ", ".join(SUPPORTED_ALGORITHMS)
_SKIPPED = "Not checked: an earlier check failed."


@dataclass(frozen=True)
class VerifiedToken:
    header: dict[str, Any]
    claims: dict[str, Any]
    key_thumbprint: str
    jti: str | None
    expires_at: datetime


@dataclass(frozen=True)
class CheckStep:
    """One row of the token tester: passed is None when the check was not reached."""

    name: str
    passed: bool | None
    message: str
    code: str | None = None


# --- the pipeline --------------------------------------------------------------------------


@dataclass
class _Context:
    token: object
    keys: Sequence[VerificationKey]
    app_id: str
    now: float
    leeway: int
    max_lifetime: int
    header: dict[str, Any] | None = None
    unverified_claims: dict[str, Any] | None = None
    alg: str = ""
    candidates: list[VerificationKey] = field(default_factory=list)
    key: VerificationKey | None = None
    payload: bytes = b""
    claims: dict[str, Any] | None = None

    def reported_claims(self) -> dict[str, Any] | None:
        return self.claims if self.claims is not None else self.unverified_claims


def _malformed(message: str) -> ApiError:
    return ApiError("jwt_malformed", message)


def _b64_segment(segment: str, part: str) -> bytes:
    try:
        return urlsafe_b64decode(segment.encode("ascii"))
    except ValueError:
        raise _malformed(
            f"The JWT {part} is not valid base64url (RFC 7515 §2: alphabet A-Z a-z 0-9 - _, "
            "no '=' padding, no spaces). Pass the token exactly as your JWT library returned it."
        ) from None


def _json_object(raw: bytes, part: str, example: str) -> dict[str, Any]:
    try:
        value = loads_strict(raw)
    except StrictJSONError as exc:
        raise _malformed(f"The JWT {part} is not acceptable JSON: {exc}. {example}") from None
    if not isinstance(value, dict):
        raise _malformed(f"The JWT {part} must be a JSON object. {example}")
    return value


def _split_token(token: object) -> list[str]:
    if not isinstance(token, str):
        raise _malformed(
            "The jwt must be a string holding a compact JWS: header.payload.signature."
        )
    if not token:
        raise _malformed(
            "The jwt is empty. Pass the token your server signed: setUser({jwt: token})."
        )
    if len(token) > MAX_TOKEN_LENGTH:
        raise _malformed(
            f"The jwt is {len(token)} characters long; at most {MAX_TOKEN_LENGTH} are accepted. "
            "Put fewer or shorter attrs into the signed token."
        )
    if not token.isascii():
        raise _malformed("The jwt contains non-ASCII characters; a compact JWS is base64url only.")
    parts = token.split(".")
    if len(parts) != 3:
        raise _malformed(
            f"The jwt has {len(parts)} dot-separated part(s); a signed JWT has exactly 3 "
            "(header.payload.signature). JWE and JSON serializations are not accepted."
        )
    return parts


def _check_format(ctx: _Context) -> str:
    """A compact JWS of three base64url parts, the header a strict JSON object."""
    header_b64, payload_b64, signature_b64 = _split_token(ctx.token)
    if len(header_b64) > MAX_HEADER_LENGTH:
        raise _malformed(
            f"The JWT header is {len(header_b64)} characters; at most {MAX_HEADER_LENGTH} are "
            "accepted. Sign with a header of only alg (and optionally typ and kid)."
        )
    if len(signature_b64) > MAX_SIGNATURE_LENGTH:
        raise _malformed(f"The JWT signature is longer than {MAX_SIGNATURE_LENGTH} characters.")
    header_raw = _b64_segment(header_b64, "header")
    payload_raw = _b64_segment(payload_b64, "payload")
    _b64_segment(signature_b64, "signature")
    ctx.header = _json_object(header_raw, "header", 'Sign with a header such as {"alg":"EdDSA"}.')
    try:  # best effort, only so the failure log can show the claims of a refused token
        ctx.unverified_claims = _json_object(payload_raw, "payload", "")
    except ApiError:
        ctx.unverified_claims = None
    return "A compact JWS of three base64url parts with a JSON object header."


def _refused_header_message(name: str) -> str:
    if name in KEY_HEADERS:
        return (
            f"Remove the '{name}' header: keys and certificates are never taken from the token; "
            f"it is verified only with the public keys uploaded in {_SETTINGS} "
            "(set 'kid' to a key's thumbprint to name one)."
        )
    if name == "cty":
        return "Remove the 'cty' header: nested tokens are not supported; sign the claims directly."
    return (
        f"Remove the '{name}' header: JWS extensions (crit, RFC 7797 unencoded payloads) are "
        "not supported; sign a standard JWT with a base64url JSON payload."
    )


def _check_header(ctx: _Context) -> str:
    """Refused headers (jwk, jku, x5u, x5c, x5t, crit, b64, cty), typ, kid."""
    header = ctx.header or {}
    refused = [name for name in REFUSED_HEADERS if name in header]
    if refused:
        raise _malformed(_refused_header_message(refused[0]))
    if "typ" in header:
        typ = header["typ"]
        if not isinstance(typ, str) or typ.lower() not in ALLOWED_TYP:
            raise _malformed(f"The 'typ' header is {show(typ)}; use \"JWT\" or leave typ out.")
    if "kid" in header and not isinstance(header["kid"], str):
        raise _malformed(
            f"The 'kid' header must be a string (a key thumbprint from {_SETTINGS}) or left out."
        )
    return "No refused header parameters; typ and kid are acceptable."


def _check_algorithm(ctx: _Context) -> str:
    """Only EdDSA, Ed25519, ES256, PS256, RS256; never none or an HMAC algorithm."""
    header = ctx.header or {}
    alg = header.get("alg")
    if alg in SUPPORTED_ALGORITHMS:
        ctx.alg = str(alg)
        return f"{alg} is an accepted algorithm."
    if "alg" not in header:
        reason = "The JWT header has no 'alg'."
    elif not isinstance(alg, str):
        reason = f"The 'alg' header must be a string, not {json_type(alg)}."
    elif alg.lower() == "none":
        reason = f"alg {show(alg)} means an unsigned token, which is never accepted."
    elif alg.upper().startswith("HS"):
        reason = f"alg {show(alg)} is a shared-secret (HMAC) algorithm, which is never accepted."
    else:
        reason = f"The algorithm {show(alg)} is not supported."
    raise ApiError(
        "jwt_unsupported_alg",
        f"{reason} Sign with your private key using one of {_ALG_LIST}, matching the key "
        f"uploaded in {_SETTINGS}.",
    )


def _check_key(ctx: _Context) -> str:
    """Keys usable with the alg; a kid equal to a thumbprint is only tried first."""
    candidates = [key for key in ctx.keys if ctx.alg in tuple(key.algorithms)]
    if not candidates:
        needed = KEY_TYPE_BY_ALGORITHM[ctx.alg]
        have = sorted({f"{k.key_type} ({'/'.join(k.algorithms)})" for k in ctx.keys})
        present = f"the usable keys are {', '.join(have)}" if have else "there is no usable key"
        raise ApiError(
            "jwt_no_matching_key",
            f"The token is signed with {ctx.alg}, which needs a key of type {needed}, but "
            f"{present} in this workspace. Upload the public key matching your private key in "
            f"{_SETTINGS}, or sign with the algorithm of an uploaded key.",
        )
    kid = (ctx.header or {}).get("kid")
    # kid is an opaque hint from arbitrary customer libraries; sorted() is stable.
    ctx.candidates = sorted(candidates, key=lambda key: key.thumbprint != kid)
    return f"{len(candidates)} usable {KEY_TYPE_BY_ALGORITHM[ctx.alg]} key(s) for {ctx.alg}."


def _verified_payload(token: str, key: VerificationKey, alg: str) -> bytes | None:
    """The payload bytes joserfc verified with `key` under exactly `alg`, or None."""
    try:
        imported = import_public_key(key)
    except Exception:  # a stored key that cannot be loaded verifies nothing
        return None
    try:
        return jws.deserialize_compact(token, imported, registry=REGISTRIES[alg]).payload
    except (BadSignatureError, InvalidKeyTypeError, InvalidKeyCurveError):
        return None
    except JoseError as exc:
        raise _malformed(
            f"The token was refused before its signature was checked: {exc}."
        ) from None


def _check_signature(ctx: _Context) -> str:
    """Each key only with its own algorithms; none verifies → jwt_bad_signature."""
    assert isinstance(ctx.token, str)
    for key in ctx.candidates:
        payload = _verified_payload(ctx.token, key, ctx.alg)
        if payload is not None:
            ctx.key, ctx.payload = key, payload
            return f"Verified with the key {key.thumbprint}."
    tried = ", ".join(key.thumbprint for key in ctx.candidates)
    raise ApiError(
        "jwt_bad_signature",
        f"The {ctx.alg} signature does not verify with any usable key of this workspace "
        f"(tried {tried}). Sign with the private key whose public key is uploaded in "
        f"{_SETTINGS}; a replaced key stays usable only during its grace period.",
    )


def _check_payload(ctx: _Context) -> str:
    """The verified payload is a strict JSON object (UTF-8, no BOM, no duplicate claims).

    Parsed here, not by joserfc's json.loads, which keeps the last of two repeated claims.
    """
    ctx.claims = _json_object(
        ctx.payload, "payload", 'Sign claims such as {"id": "user-123", "exp": 1767225600}.'
    )
    return "The payload is a JSON object of claims."


# --- public API -----------------------------------------------------------------------------

_Step = Callable[[_Context], str]
# (name, check, code for an unexpected exception inside the check)
_STEPS: tuple[tuple[str, _Step, str], ...] = (
    ("format", _check_format, "jwt_malformed"),
    ("header", _check_header, "jwt_malformed"),
    ("algorithm", _check_algorithm, "jwt_unsupported_alg"),
    ("key", _check_key, "jwt_no_matching_key"),
    ("signature", _check_signature, "jwt_bad_signature"),
    ("payload", _check_payload, "jwt_malformed"),
    ("exp", check_exp, "jwt_invalid_claims"),
    ("nbf", check_nbf, "jwt_invalid_claims"),
    ("iat", check_iat, "jwt_invalid_claims"),
    ("aud", check_aud, "jwt_invalid_claims"),
    ("jti", check_jti, "jwt_invalid_claims"),
    ("iss/sub", check_iss_sub, "jwt_invalid_claims"),
)
CHECK_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _STEPS)


def _run_step(ctx: _Context, name: str, check: _Step, fallback_code: str) -> str:
    """Run one check; every failure leaves as an ApiError carrying what was decoded."""
    try:
        return check(ctx)
    except ApiError as exc:
        code, message = exc.code, exc.message
    except Exception:  # TypeError, RecursionError, ...: a hostile token is a 401, never a 500
        code = fallback_code
        message = f"The token failed the {name} check; sign a standard compact JWT ({_ALG_LIST})."
    header = dict(ctx.header) if ctx.header is not None else None
    claims = ctx.reported_claims()
    raise ApiError(code, message, token_header=header, token_claims=claims) from None


def _context(
    token: object,
    keys: Sequence[VerificationKey],
    app_id: str,
    now: datetime,
    leeway: int,
    max_lifetime: int,
) -> _Context:
    if now.tzinfo is None:  # pure code takes naive datetimes as UTC
        now = now.replace(tzinfo=UTC)
    return _Context(token, list(keys), app_id, now.timestamp(), leeway, max_lifetime)


def verify_jwt(
    token: str,
    keys: Sequence[VerificationKey],
    *,
    app_id: str,
    now: datetime,
    leeway: int = 30,
    max_lifetime: int = 86400,
) -> VerifiedToken:
    """Verify a customer-signed identity JWT against the workspace's usable `keys`.

    Raises ApiError with a 401 code of docs/widget-api.md, "Errors" (and nothing else);
    never touches jti storage.
    """
    ctx = _context(token, keys, app_id, now, leeway, max_lifetime)
    for name, check, fallback_code in _STEPS:
        _run_step(ctx, name, check, fallback_code)
    assert ctx.header is not None and ctx.claims is not None and ctx.key is not None
    jti = ctx.claims.get("jti")
    return VerifiedToken(
        header=ctx.header,
        claims=ctx.claims,
        key_thumbprint=ctx.key.thumbprint,
        jti=jti if isinstance(jti, str) else None,
        expires_at=datetime.fromtimestamp(ctx.claims["exp"], tz=UTC),
    )


def inspect_jwt(
    token: str,
    keys: Sequence[VerificationKey],
    *,
    app_id: str,
    now: datetime,
    leeway: int = 30,
    max_lifetime: int = 86400,
) -> list[CheckStep]:
    """The token tester of the Security page: verify_jwt's pipeline, one CheckStep per check in
    CHECK_NAMES order.

    Stops at the first failure (later steps have passed=None); never consumes a jti.
    """
    ctx = _context(token, keys, app_id, now, leeway, max_lifetime)
    steps: list[CheckStep] = []
    for name, check, fallback_code in _STEPS:
        if steps and steps[-1].passed is not True:
            steps.append(CheckStep(name, None, _SKIPPED))
            continue
        try:
            steps.append(CheckStep(name, True, _run_step(ctx, name, check, fallback_code)))
        except ApiError as exc:
            steps.append(CheckStep(name, False, exc.message, exc.code))
    return steps
