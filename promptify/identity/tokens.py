"""Verification of customer-signed identity JWTs (PRODUCT.md §2.1 "Signed identification", §2.2).

Pure: stdlib + joserfc + cryptography, time passed in, no jti storage. The checks run as one
ordered pipeline of steps (`_STEPS`); `verify_jwt` raises at the first failing step and
`inspect_jwt` (the console's token tester) reports every step, so the two cannot drift.
The joserfc traps this module guards against are listed in SECURITY-NOTES.md §0 and §1.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from joserfc import jws
from joserfc.errors import (
    BadSignatureError,
    InvalidKeyCurveError,
    InvalidKeyTypeError,
    JoseError,
)
from joserfc.jwa import EdDSAAlgorithm, JWSAlgModel
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from joserfc.jws import JWSRegistry
from joserfc.registry import JWS_HEADER_REGISTRY, HeaderParameter, HeaderRegistryDict
from joserfc.util import urlsafe_b64decode

from .errors import IdentifyError
from .strict_json import StrictJSONError, loads_strict

#: §2.1: the algorithms a workspace key can be used with, by key type.
ALGORITHMS_BY_KEY_TYPE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"Ed25519": ("EdDSA", "Ed25519"), "P-256": ("ES256",), "RSA": ("PS256", "RS256")}
)
SUPPORTED_ALGORITHMS: tuple[str, ...] = ("EdDSA", "Ed25519", "ES256", "PS256", "RS256")
KEY_TYPE_BY_ALGORITHM: Mapping[str, str] = MappingProxyType(
    {alg: kty for kty, algs in ALGORITHMS_BY_KEY_TYPE.items() for alg in algs}
)

MAX_TOKEN_LENGTH = 64 * 1024  # the request body limit; a token with 50 long attrs must fit
MAX_HEADER_LENGTH = 1_024
# base64url of a 1024-byte RSA-8192 signature is 1366 characters (SECURITY-NOTES §0.9).
MAX_SIGNATURE_LENGTH = 1_368
MAX_JTI_LENGTH = 255
ALLOWED_TYP = ("jwt", "application/jwt")

_KEY_HEADERS = ("jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256")
_REFUSED_HEADERS: tuple[str, ...] = (*_KEY_HEADERS, "crit", "b64", "cty")
_SETTINGS = "Settings › Messenger › Security"
_ALG_LIST = ", ".join(SUPPORTED_ALGORITHMS)
_SKIPPED = "Not checked: an earlier check failed."


class VerificationKey(Protocol):
    """A usable workspace key (keys.StoredKey and keys.PublicKeyInfo both fit)."""

    @property
    def thumbprint(self) -> str: ...
    @property
    def key_type(self) -> str: ...
    @property
    def algorithms(self) -> Sequence[str]: ...
    @property
    def spki_pem(self) -> str: ...


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


# --- the joserfc registry --------------------------------------------------------------


class _Ed25519OnlyEdDSA(EdDSAAlgorithm):
    """RFC 8037 "EdDSA" restricted to Ed25519 (RFC 9864), without the deprecation warning.

    The stock model accepts Ed448 keys and warns on every use, which `filterwarnings=error`
    turns into a 500 (SECURITY-NOTES §0.4, §1 #11-12).
    """

    # RFC 9864 deprecates the name, not Ed25519 itself; we accept it (PRODUCT.md §2.1).
    security_warning = None  # type: ignore[assignment]

    def check_key(self, key: Any) -> None:
        super().check_key(key)
        _require_ed25519(key)

    def verify(self, msg: bytes, sig: bytes, key: Any) -> bool:
        _require_ed25519(key)
        return super().verify(msg, sig, key)


def _require_ed25519(key: Any) -> None:
    if getattr(key, "curve_name", None) != "Ed25519":
        raise InvalidKeyCurveError("EdDSA: only Ed25519 keys are accepted")


#: The exact signature primitives verify_jwt uses, by `alg` (also exercised by Wycheproof).
SIGNATURE_ALGORITHMS: Mapping[str, JWSAlgModel] = MappingProxyType(
    {
        "EdDSA": _Ed25519OnlyEdDSA(),
        "Ed25519": JWSRegistry.algorithms["Ed25519"],  # RFC 9864, curve-checked, no warning
        "ES256": JWSRegistry.algorithms["ES256"],
        "PS256": JWSRegistry.algorithms["PS256"],
        "RS256": JWSRegistry.algorithms["RS256"],
    }
)


def _refuse_header(_value: object) -> None:
    raise ValueError("is refused by Promptify")


# Unknown names stay ignored (RFC 7515 §4), but the refused ones are registered with a
# validator that always fails: merely leaving them out would let crit/b64 through once
# strict_check_header is off (SECURITY-NOTES §0.6, §1 #13-15).
_HEADER_REGISTRY: HeaderRegistryDict = {
    **{name: JWS_HEADER_REGISTRY[name] for name in ("alg", "kid", "typ")},
    **{name: HeaderParameter("refused by Promptify", _refuse_header) for name in _REFUSED_HEADERS},
}


class _PromptifyJWSRegistry(JWSRegistry):
    default_header_registry = _HEADER_REGISTRY
    algorithms = dict(SIGNATURE_ALGORITHMS)  # own copy: never mutate joserfc's class dict
    recommended: list[str] = []
    max_header_length = MAX_HEADER_LENGTH
    max_payload_length = MAX_TOKEN_LENGTH
    max_signature_length = MAX_SIGNATURE_LENGTH


def jws_registry(alg: str) -> JWSRegistry:
    """A registry allowing exactly `alg`: the allow-list must live inside the registry,
    since `registry=` silently overrides `algorithms=` (SECURITY-NOTES §0.3)."""
    return _PromptifyJWSRegistry(algorithms=[alg], strict_check_header=False)


_REGISTRIES: Mapping[str, JWSRegistry] = {alg: jws_registry(alg) for alg in SUPPORTED_ALGORITHMS}


# --- key import ----------------------------------------------------------------------------


def import_public_key(key: VerificationKey) -> Key:
    """The joserfc key for a stored SPKI PEM; raises ValueError if the PEM is not of key_type."""
    return _import_cached(key.thumbprint, key.key_type, key.spki_pem)


@functools.lru_cache(maxsize=256)
def _import_cached(thumbprint: str, key_type: str, spki_pem: str) -> Key:
    # Runs on every page load, so parsed keys are cached. joserfc's own importer accepts
    # private keys, certificates and garbage (SECURITY-NOTES §0.10): parse with cryptography.
    public = load_pem_public_key(spki_pem.encode("ascii"))
    if key_type == "Ed25519" and isinstance(public, ed25519.Ed25519PublicKey):
        return OKPKey.import_key(public)
    if key_type == "P-256" and isinstance(public, ec.EllipticCurvePublicKey):
        if isinstance(public.curve, ec.SECP256R1):
            return ECKey.import_key(public)
    if key_type == "RSA" and isinstance(public, rsa.RSAPublicKey):
        if 2048 <= public.key_size <= 8192:
            return RSAKey.import_key(public)
    raise ValueError(f"key {thumbprint} is not a usable {key_type} public key")


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


def _malformed(message: str) -> IdentifyError:
    return IdentifyError("jwt_malformed", message)


def _invalid(message: str) -> IdentifyError:
    return IdentifyError("jwt_invalid_claims", message)


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
    """§2.1/§2.2: a compact JWS of three base64url parts, the header a strict JSON object."""
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
    except IdentifyError:
        ctx.unverified_claims = None
    return "A compact JWS of three base64url parts with a JSON object header."


def _refused_header_message(name: str) -> str:
    if name in _KEY_HEADERS:
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
    """§2.1: refused headers (jwk, jku, x5u, x5c, x5t, crit, b64, cty), typ, kid."""
    header = ctx.header or {}
    refused = [name for name in _REFUSED_HEADERS if name in header]
    if refused:
        raise _malformed(_refused_header_message(refused[0]))
    if "typ" in header:
        typ = header["typ"]
        if not isinstance(typ, str) or typ.lower() not in ALLOWED_TYP:
            raise _malformed(f"The 'typ' header is {_show(typ)}; use \"JWT\" or leave typ out.")
    if "kid" in header and not isinstance(header["kid"], str):
        raise _malformed(
            f"The 'kid' header must be a string (a key thumbprint from {_SETTINGS}) or left out."
        )
    return "No refused header parameters; typ and kid are acceptable."


def _check_algorithm(ctx: _Context) -> str:
    """§2.1: only EdDSA, Ed25519, ES256, PS256, RS256; never none or an HMAC algorithm."""
    header = ctx.header or {}
    alg = header.get("alg")
    if alg in SUPPORTED_ALGORITHMS:
        ctx.alg = str(alg)
        return f"{alg} is an accepted algorithm."
    if "alg" not in header:
        reason = "The JWT header has no 'alg'."
    elif not isinstance(alg, str):
        reason = f"The 'alg' header must be a string, not {_json_type(alg)}."
    elif alg.lower() == "none":
        reason = f"alg {_show(alg)} means an unsigned token, which is never accepted."
    elif alg.upper().startswith("HS"):
        reason = f"alg {_show(alg)} is a shared-secret (HMAC) algorithm, which is never accepted."
    else:
        reason = f"The algorithm {_show(alg)} is not supported."
    raise IdentifyError(
        "jwt_unsupported_alg",
        f"{reason} Sign with your private key using one of {_ALG_LIST}, matching the key "
        f"uploaded in {_SETTINGS}.",
    )


def _check_key(ctx: _Context) -> str:
    """§2.1: keys usable with the alg; a kid equal to a thumbprint is only tried first."""
    candidates = [key for key in ctx.keys if ctx.alg in tuple(key.algorithms)]
    if not candidates:
        needed = KEY_TYPE_BY_ALGORITHM[ctx.alg]
        have = sorted({f"{k.key_type} ({'/'.join(k.algorithms)})" for k in ctx.keys})
        present = f"the usable keys are {', '.join(have)}" if have else "there is no usable key"
        raise IdentifyError(
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
        return jws.deserialize_compact(token, imported, registry=_REGISTRIES[alg]).payload
    except (BadSignatureError, InvalidKeyTypeError, InvalidKeyCurveError):
        return None
    except JoseError as exc:
        raise _malformed(
            f"The token was refused before its signature was checked: {exc}."
        ) from None


def _check_signature(ctx: _Context) -> str:
    """§2.1: each key only with its own algorithms; none verifies → jwt_bad_signature."""
    assert isinstance(ctx.token, str)
    for key in ctx.candidates:
        payload = _verified_payload(ctx.token, key, ctx.alg)
        if payload is not None:
            ctx.key, ctx.payload = key, payload
            return f"Verified with the key {key.thumbprint}."
    tried = ", ".join(key.thumbprint for key in ctx.candidates)
    raise IdentifyError(
        "jwt_bad_signature",
        f"The {ctx.alg} signature does not verify with any usable key of this workspace "
        f"(tried {tried}). Sign with the private key whose public key is uploaded in "
        f"{_SETTINGS}; a replaced key stays usable only during its grace period.",
    )


def _check_payload(ctx: _Context) -> str:
    """§2.1: the verified payload is a strict JSON object (UTF-8, no BOM, no duplicate claims).

    Parsed here, not by joserfc's lax json.loads (SECURITY-NOTES §0.8).
    """
    ctx.claims = _json_object(
        ctx.payload, "payload", 'Sign claims such as {"id": "user-123", "exp": 1767225600}.'
    )
    return "The payload is a JSON object of claims."


# --- claims --------------------------------------------------------------------------------


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _show(value: object) -> str:
    """A short JSON rendering of a token value for messages (never the whole token)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= 64 else text[:61] + "..."


def _iso(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return "a date outside years 1-9999"


def _numeric_claim(claims: Mapping[str, Any], name: str) -> int | float | None:
    """RFC 7519 §2 NumericDate: an int or finite float; a bool is not a number here."""
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):  # 1e400 parses to inf
        return value
    kind = "an out-of-range number" if isinstance(value, float) else _json_type(value)
    raise _invalid(
        f"'{name}' must be a NumericDate (seconds since 1970-01-01 UTC as a number), not {kind}."
    )


def _seconds(later: float, earlier: float) -> str:
    """later - earlier in whole seconds for messages; an int NumericDate can exceed a float."""
    try:
        difference = later - earlier
    except OverflowError:
        difference = math.inf
    return f"{difference:.0f}" if abs(difference) < 1e12 else "more than 10^12"


def _claims(ctx: _Context) -> dict[str, Any]:
    assert ctx.claims is not None
    return ctx.claims


def _check_exp(ctx: _Context) -> str:
    """§2.1: exp required, not expired beyond leeway, at most max_lifetime ahead."""
    claims = _claims(ctx)
    if claims.get("exp") is None:
        raise IdentifyError(
            "jwt_missing_exp",
            "The token has no 'exp' claim. Give it a short expiry when signing, e.g. "
            '.setExpirationTime("5m") with jose, or exp = now + 300 (seconds).',
        )
    exp = _numeric_claim(claims, "exp")
    assert exp is not None
    if exp <= ctx.now - ctx.leeway:
        raise IdentifyError(
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


def _check_nbf(ctx: _Context) -> str:
    """§2.1: nbf honoured if present (leeway applies)."""
    nbf = _numeric_claim(_claims(ctx), "nbf")
    if nbf is None:
        return "No 'nbf' claim (optional)."
    if nbf > ctx.now + ctx.leeway:
        raise IdentifyError(
            "jwt_not_yet_valid",
            f"The token is not valid before {_iso(nbf)} ('nbf' is {_seconds(nbf, ctx.now)} s "
            f"ahead, leeway {ctx.leeway} s). Leave nbf out or set it to the signing time, and "
            "check your server's clock.",
        )
    return f"Valid since {_iso(nbf)}."


def _check_iat(ctx: _Context) -> str:
    """§2.1: an iat in the future beyond leeway is jwt_not_yet_valid."""
    iat = _numeric_claim(_claims(ctx), "iat")
    if iat is None:
        return "No 'iat' claim (optional)."
    if iat > ctx.now + ctx.leeway:
        raise IdentifyError(
            "jwt_not_yet_valid",
            f"'iat' (issued at) is {_iso(iat)}, {_seconds(iat, ctx.now)} s in the future (leeway "
            f"{ctx.leeway} s). Your server's clock is ahead: sync it (NTP) or leave iat out.",
        )
    return f"Issued at {_iso(iat)}."


def _check_aud(ctx: _Context) -> str:
    """§2.1: aud, when present, is (or contains) the workspace's app id."""
    claims = _claims(ctx)
    if "aud" not in claims:
        return "No 'aud' claim (optional)."
    aud = claims["aud"]
    if aud == ctx.app_id or (
        isinstance(aud, list) and all(isinstance(a, str) for a in aud) and ctx.app_id in aud
    ):
        return f"'aud' names this workspace ({ctx.app_id})."
    raise _invalid(
        f"'aud' is {_show(aud)}, but this workspace's app id is {_show(ctx.app_id)}. Set aud "
        f"to {_show(ctx.app_id)} (or a list of strings containing it), or leave aud out."
    )


def _check_jti(ctx: _Context) -> str:
    """§2.1: optional jti, a non-empty string of at most 255 characters."""
    claims = _claims(ctx)
    if "jti" not in claims:
        return "No 'jti' claim: the token can be reused until it expires."
    jti = claims["jti"]
    if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI_LENGTH:
        raise _invalid(
            f"'jti' must be a non-empty string of at most {MAX_JTI_LENGTH} characters (e.g. a "
            f"random UUID) or left out; got {_json_type(jti)}"
            + (f" of {len(jti)} characters." if isinstance(jti, str) else ".")
        )
    return "'jti' is well-formed (the tester never consumes it)."


def _check_iss_sub(ctx: _Context) -> str:
    """RFC 7519 §4.1.1-2: iss and sub, when present, are strings."""
    claims = _claims(ctx)
    for name in ("iss", "sub"):
        if name in claims and not isinstance(claims[name], str):
            raise _invalid(
                f"'{name}' must be a string or left out, not {_json_type(claims[name])}."
            )
    return "'iss' and 'sub' are strings or absent."


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
    ("exp", _check_exp, "jwt_invalid_claims"),
    ("nbf", _check_nbf, "jwt_invalid_claims"),
    ("iat", _check_iat, "jwt_invalid_claims"),
    ("aud", _check_aud, "jwt_invalid_claims"),
    ("jti", _check_jti, "jwt_invalid_claims"),
    ("iss/sub", _check_iss_sub, "jwt_invalid_claims"),
)
CHECK_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _STEPS)


def _run_step(ctx: _Context, name: str, check: _Step, fallback_code: str) -> str:
    """Run one check; every failure leaves as an IdentifyError carrying what was decoded."""
    try:
        return check(ctx)
    except IdentifyError as exc:
        code, message = exc.code, exc.message
    except Exception:  # TypeError, RecursionError, ...: never a 500 (SECURITY-NOTES §1 #33)
        code = fallback_code
        message = f"The token failed the {name} check; sign a standard compact JWT ({_ALG_LIST})."
    header = dict(ctx.header) if ctx.header is not None else None
    claims = ctx.reported_claims()
    raise IdentifyError(code, message, token_header=header, token_claims=claims) from None


def _context(
    token: object,
    keys: Sequence[VerificationKey],
    app_id: str,
    now: datetime,
    leeway: int,
    max_lifetime: int,
) -> _Context:
    if now.tzinfo is None:  # pure code takes naive datetimes as UTC
        now = now.replace(tzinfo=timezone.utc)
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
    """§2.1: verify a customer-signed identity JWT against the workspace's usable `keys`.

    Raises IdentifyError with a 401 code of §2.2 (and nothing else); never touches jti storage.
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
        expires_at=datetime.fromtimestamp(ctx.claims["exp"], tz=timezone.utc),
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
    """§4 token tester: the verify_jwt pipeline, one CheckStep per check in CHECK_NAMES order.

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
        except IdentifyError as exc:
            steps.append(CheckStep(name, False, exc.message, exc.code))
    return steps
