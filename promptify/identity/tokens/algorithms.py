"""The joserfc side of token verification (docs/security.md, "Algorithms").

What a token may use (algorithms by key type, size limits, refused headers), the joserfc
registries that enforce it, and the import of stored SPKI PEM keys into joserfc keys.
Pure: stdlib + joserfc + cryptography. The lax joserfc defaults guarded against here are pinned
by `TestJoserfcTraps` in tests/unit/test_tokens.py.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from joserfc.errors import InvalidKeyCurveError
from joserfc.jwa import EdDSAAlgorithm, JWSAlgModel
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from joserfc.jws import JWSRegistry
from joserfc.registry import JWS_HEADER_REGISTRY, HeaderParameter, HeaderRegistryDict

#: The algorithms a workspace key can be used with, by key type.
ALGORITHMS_BY_KEY_TYPE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"Ed25519": ("EdDSA", "Ed25519"), "P-256": ("ES256",), "RSA": ("PS256", "RS256")}
)
SUPPORTED_ALGORITHMS: tuple[str, ...] = ("EdDSA", "Ed25519", "ES256", "PS256", "RS256")
KEY_TYPE_BY_ALGORITHM: Mapping[str, str] = MappingProxyType(
    {alg: kty for kty, algs in ALGORITHMS_BY_KEY_TYPE.items() for alg in algs}
)

MAX_TOKEN_LENGTH = 64 * 1024  # the request body limit; a token with 50 long attrs must fit
MAX_HEADER_LENGTH = 1_024
# base64url of a 1024-byte RSA-8192 signature is 1366 characters; joserfc's default cap is 1024.
MAX_SIGNATURE_LENGTH = 1_368

#: Headers that would take a key from the token, and all refused header parameters.
KEY_HEADERS = ("jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256")
REFUSED_HEADERS: tuple[str, ...] = (*KEY_HEADERS, "crit", "b64", "cty")


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


# --- the joserfc registry --------------------------------------------------------------


class _Ed25519OnlyEdDSA(EdDSAAlgorithm):
    """RFC 8037 "EdDSA" restricted to Ed25519 (RFC 9864), without the deprecation warning.

    The stock model accepts Ed448 keys and warns on every use, which `filterwarnings=error`
    turns into a 500.
    """

    # RFC 9864 deprecates the name, not Ed25519 itself; both "EdDSA" and "Ed25519" are accepted.
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
# strict_check_header is off (stock joserfc accepts crit: [] and crit of registered names).
_HEADER_REGISTRY: HeaderRegistryDict = {
    **{name: JWS_HEADER_REGISTRY[name] for name in ("alg", "kid", "typ")},
    **{name: HeaderParameter("refused by Promptify", _refuse_header) for name in REFUSED_HEADERS},
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
    since `registry=` silently overrides `algorithms=` in joserfc."""
    return _PromptifyJWSRegistry(algorithms=[alg], strict_check_header=False)


#: One single-algorithm registry per supported `alg`, built once.
REGISTRIES: Mapping[str, JWSRegistry] = {alg: jws_registry(alg) for alg in SUPPORTED_ALGORITHMS}


# --- key import ----------------------------------------------------------------------------


def import_public_key(key: VerificationKey) -> Key:
    """The joserfc key for a stored SPKI PEM; raises ValueError if the PEM is not of key_type."""
    return _import_cached(key.thumbprint, key.key_type, key.spki_pem)


@functools.lru_cache(maxsize=256)
def _import_cached(thumbprint: str, key_type: str, spki_pem: str) -> Key:
    # Runs on every page load, so parsed keys are cached. joserfc's own importer accepts
    # private keys, certificates and garbage: parse with cryptography.
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
