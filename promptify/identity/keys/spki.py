"""SPKI public-key paste validation, RFC 7638 thumbprints and key usability.

The paste rules are those of docs/security.md, "Key paste rules".

Pure module: stdlib + cryptography + joserfc only. The paste is validated with `cryptography`
before joserfc ever sees it, because joserfc accepts private keys, certificates, OpenSSH keys and
trailing garbage. No message ever echoes the pasted text. The admin messages live in
`messages`, the Ed25519 point and ROCA arithmetic in `number_theory`.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_private_key,
    load_der_public_key,
)
from joserfc.jwk import ECKey, OKPKey, RSAKey

from .messages import (
    MSG_BAD_BASE64,
    MSG_CERTIFICATE,
    MSG_CSR,
    MSG_CURVE,
    MSG_EC_COMPRESSED,
    MSG_EC_EXPLICIT,
    MSG_ED25519_ENCODING,
    MSG_ED25519_SMALL_ORDER,
    MSG_EMPTY,
    MSG_JWK,
    MSG_MARKER_LINES,
    MSG_MISSING_END,
    MSG_NO_PEM,
    MSG_NON_CANONICAL,
    MSG_NOT_PUBLIC_KEY,
    MSG_OPENSSH,
    MSG_OPENSSH_ED25519,
    MSG_PEM_HEADERS,
    MSG_PKCS1,
    MSG_PRIVATE,
    MSG_PRIVATE_JWK,
    MSG_ROCA,
    MSG_RSA_EXPONENT,
    MSG_RSA_MODULUS,
    MSG_RSA_PSS,
    MSG_RSA_SIZE,
    MSG_SEVERAL_BLOCKS,
    MSG_SSH2,
    MSG_TEXT_AFTER,
    MSG_TEXT_BEFORE,
    MSG_TOO_LARGE,
    MSG_UNREADABLE,
    MSG_UNSUPPORTED_ALGORITHM,
    MSG_UNSUPPORTED_TYPE,
)
from .number_theory import (
    ed25519_decode,
    ed25519_has_small_order,
    ed25519_pub_ok,  # noqa: F401 - re-exported for callers
    has_roca_fingerprint,
)

MAX_PASTE_CHARS = 10_000
RSA_MIN_BITS, RSA_MAX_BITS, RSA_EXPONENT = 2048, 8192, 65537

_BEGIN_LINE, _END_LINE = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"
_PEM_LABEL = re.compile(r"-----BEGIN ([^\n]*?)-----")
_PRIVATE_MARKER = re.compile(r"-{4,5} ?BEGIN [^\n]*PRIVATE KEY|PuTTY-User-Key-File-")
_JWK_SECRET_MEMBER = re.compile(r'"(?:d|p|q|dp|dq|qi|oth|k)"\s*:')
_OPENSSH_PUBLIC = re.compile(r"(?:sk-)?(?:ssh-|ecdsa-sha2-)")
_OPENSSH_ED25519 = re.compile(r"(?:sk-)?ssh-ed25519")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_RSA_PSS_OID = bytes.fromhex("06092a864886f70d01010a")  # 1.2.840.113549.1.1.10
_EC_PRIME_FIELD_OID = bytes.fromhex("06072a8648ce3d0101")  # 1.2.840.10045.1.1, explicit params
_CURVE_NAMES = {
    "secp384r1": "P-384", "secp521r1": "P-521", "secp224r1": "P-224", "secp192r1": "P-192"
}  # fmt: skip
_UNSUPPORTED_NAMES: tuple[tuple[type, str], ...] = (
    (ed448.Ed448PublicKey, "Ed448"),
    (x25519.X25519PublicKey, "X25519"),
    (x448.X448PublicKey, "X448"),
    (dsa.DSAPublicKey, "DSA"),
)


class KeyRejected(ValueError):
    """A pasted key was refused; `message` tells the admin exactly what to paste instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PublicKeyInfo:
    key_type: str  # "Ed25519" | "P-256" | "RSA"
    algorithms: tuple[str, ...]  # ("EdDSA", "Ed25519") | ("ES256",) | ("PS256", "RS256")
    thumbprint: str  # RFC 7638, base64url SHA-256, no padding
    spki_pem: str  # canonical re-encoded PEM ("-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n")
    bits: int  # 255 for Ed25519, 256 for P-256, modulus size for RSA


# ---------------------------------------------------------------------------------------------
# Parsing the paste (docs/security.md, "Key paste rules")
# ---------------------------------------------------------------------------------------------


def parse_spki_pem(text: str) -> PublicKeyInfo:
    """Validate one pasted SPKI PEM public key and describe it.

    Accepts exactly one `-----BEGIN PUBLIC KEY-----` block holding an Ed25519 key (a canonical,
    non-small-order point), an uncompressed named-curve P-256 key, or an rsaEncryption key of
    2048–8192 bits with e = 65537, an odd modulus and no ROCA fingerprint. CRLF, surrounding
    whitespace, a missing final newline and any base64 line length are normalised away.
    Everything else raises `KeyRejected` whose message says what to paste instead; private keys
    are recognised first so the admin always learns that the key must be rotated.
    """
    if len(text) > MAX_PASTE_CHARS:
        raise KeyRejected(MSG_TOO_LARGE)
    pasted = _normalise(text)
    if not pasted:
        raise KeyRejected(MSG_EMPTY)
    _refuse_other_formats(pasted)
    _refuse_other_blocks(pasted)
    der = _decode_base64(_pem_body(pasted))
    key = _load_der(der)
    # Re-encoding catches what cryptography loads leniently: explicit EC parameters, compressed
    # points, the id-RSASSA-PSS OID and a missing NULL; BER and trailing bytes fail to load.
    if key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) != der:
        raise KeyRejected(_non_canonical_message(key, der))
    return public_key_info_from_crypto_key(key)


def _normalise(text: str) -> str:
    """CRLF/CR to LF, strip every line and the whole text (accepted, then normalised away)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.strip() for line in lines).strip()


def _refuse_other_formats(pasted: str) -> None:
    """Private keys anywhere, JWK/JSON, OpenSSH and SSH2 public keys."""
    looks_like_json = pasted.startswith("{")
    if _PRIVATE_MARKER.search(pasted):
        raise KeyRejected(MSG_PRIVATE)
    if looks_like_json and _JWK_SECRET_MEMBER.search(pasted):
        raise KeyRejected(MSG_PRIVATE_JWK)
    if looks_like_json:
        raise KeyRejected(MSG_JWK)
    if _OPENSSH_ED25519.match(pasted):
        raise KeyRejected(MSG_OPENSSH_ED25519)
    if _OPENSSH_PUBLIC.match(pasted):
        raise KeyRejected(MSG_OPENSSH)
    if "BEGIN SSH2 PUBLIC KEY" in pasted:
        raise KeyRejected(MSG_SSH2)


def _refuse_other_blocks(pasted: str) -> None:
    """Exactly one PEM block, labelled `PUBLIC KEY` (not a certificate, PKCS#1, several blocks)."""
    labels = _PEM_LABEL.findall(pasted)
    if not labels:
        raise KeyRejected(MSG_NO_PEM)
    if any("CERTIFICATE REQUEST" in label for label in labels):
        raise KeyRejected(MSG_CSR)
    if any("CERTIFICATE" in label for label in labels):
        raise KeyRejected(MSG_CERTIFICATE)
    if len(labels) > 1:
        raise KeyRejected(MSG_SEVERAL_BLOCKS)
    if labels[0] == "RSA PUBLIC KEY":
        raise KeyRejected(MSG_PKCS1)
    if labels[0] != "PUBLIC KEY":
        raise KeyRejected(MSG_NOT_PUBLIC_KEY)


def _pem_body(pasted: str) -> str:
    """The base64 between the BEGIN and END lines of the single block, lines joined."""
    if not pasted.startswith(_BEGIN_LINE):
        raise KeyRejected(MSG_TEXT_BEFORE)
    if _END_LINE not in pasted:
        raise KeyRejected(MSG_MISSING_END)
    if not pasted.endswith(_END_LINE):
        raise KeyRejected(MSG_TEXT_AFTER)
    inner = pasted[len(_BEGIN_LINE) : len(pasted) - len(_END_LINE)]
    if len(inner) < 2 or inner[0] != "\n" or inner[-1] != "\n":
        raise KeyRejected(MSG_MARKER_LINES)
    lines = inner[1:-1].split("\n")
    if any(":" in line for line in lines):
        raise KeyRejected(MSG_PEM_HEADERS)
    return "".join(lines)


def _decode_base64(body: str) -> bytes:
    """Strict base64: alphabet, padding only at the end, and canonical (re-encodes identically)."""
    if not _BASE64.fullmatch(body):
        raise KeyRejected(MSG_BAD_BASE64)
    try:
        der = base64.b64decode(body, validate=True)
    except binascii.Error:
        raise KeyRejected(MSG_BAD_BASE64) from None
    if base64.b64encode(der).decode("ascii") != body:
        raise KeyRejected(MSG_BAD_BASE64)
    return der


def _load_der(der: bytes) -> PublicKeyTypes:
    """cryptography's DER SPKI loader; failures become a message naming the likely cause."""
    try:
        return load_der_public_key(der)
    except UnsupportedAlgorithm:
        raise KeyRejected(MSG_UNSUPPORTED_ALGORITHM) from None
    except ValueError as exc:
        raise KeyRejected(_unreadable_message(der, exc)) from None


def _unreadable_message(der: bytes, exc: ValueError) -> str:
    """Why a `BEGIN PUBLIC KEY` block did not load: relabelled private key or certificate, e < 3."""
    # cryptography refuses e < 3 and even e while loading; the admin still needs the RSA answer.
    if str(exc).startswith("e must be"):
        return MSG_RSA_EXPONENT
    if _is_private_key_der(der):
        return MSG_PRIVATE
    try:
        x509.load_der_x509_certificate(der)
    except Exception:  # any failure (even a warning turned error) just means "not a certificate"
        return MSG_UNREADABLE
    return MSG_CERTIFICATE


def _is_private_key_der(der: bytes) -> bool:
    """True for PKCS#8 (plain or encrypted) and PKCS#1/SEC1 private keys, whatever the PEM label."""
    try:
        load_der_private_key(der, password=None)
    except TypeError:  # "Password was not given but private key is encrypted"
        return True
    except Exception:  # any other failure just means "not a private key"
        return False
    return True


def _non_canonical_message(key: PublicKeyTypes, der: bytes) -> str:
    """Name the non-canonical form when it is recognisable, so the admin gets the right command."""
    if isinstance(key, rsa.RSAPublicKey) and _RSA_PSS_OID in der:
        return MSG_RSA_PSS
    if isinstance(key, ec.EllipticCurvePublicKey):
        if der.endswith(key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)):
            return MSG_EC_COMPRESSED
        if _EC_PRIME_FIELD_OID in der:
            return MSG_EC_EXPLICIT
    return MSG_NON_CANONICAL


# ---------------------------------------------------------------------------------------------
# Key rules and description (key types, curves, RSA size/exponent/modulus, ROCA)
# ---------------------------------------------------------------------------------------------


def public_key_info_from_crypto_key(key: PublicKeyTypes) -> PublicKeyInfo:
    """The key rules for a `cryptography` public key object; raises `KeyRejected` like the paste.

    Useful where the key did not come from a paste (CLI, test factories). The encoding rules
    (canonical DER, PEM shape) are the caller's business; `parse_spki_pem` applies them first.
    """
    if isinstance(key, ed25519.Ed25519PublicKey):
        return _ed25519_info(key)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _ec_info(key)
    if isinstance(key, rsa.RSAPublicKey):
        return _rsa_info(key)
    name = next((n for cls, n in _UNSUPPORTED_NAMES if isinstance(key, cls)), None)
    if name is None:
        raise KeyRejected(MSG_UNSUPPORTED_ALGORITHM)
    raise KeyRejected(MSG_UNSUPPORTED_TYPE.format(name=name))


def _ed25519_info(key: ed25519.Ed25519PublicKey) -> PublicKeyInfo:
    """Only canonical points of large order; OpenSSL checks neither on load."""
    point = ed25519_decode(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    if point is None:
        raise KeyRejected(MSG_ED25519_ENCODING)
    if ed25519_has_small_order(point):
        raise KeyRejected(MSG_ED25519_SMALL_ORDER)
    thumbprint = OKPKey.import_key(key).thumbprint()
    return _describe(key, "Ed25519", ("EdDSA", "Ed25519"), 255, thumbprint)


def _ec_info(key: ec.EllipticCurvePublicKey) -> PublicKeyInfo:
    """P-256 only (ES256); cryptography has already checked that the point is on it."""
    if not isinstance(key.curve, ec.SECP256R1):
        curve = _CURVE_NAMES.get(key.curve.name, key.curve.name)
        raise KeyRejected(MSG_CURVE.format(curve=curve))
    return _describe(key, "P-256", ("ES256",), 256, ECKey.import_key(key).thumbprint())


def _rsa_info(key: rsa.RSAPublicKey) -> PublicKeyInfo:
    """2048-8192 bits, e = 65537, odd modulus, no ROCA fingerprint."""
    numbers = key.public_numbers()
    # Order matters: joserfc warns (an error under pytest) when importing RSA < 2048, so the
    # size check must come before RSAKey.import_key.
    if not RSA_MIN_BITS <= key.key_size <= RSA_MAX_BITS:
        raise KeyRejected(MSG_RSA_SIZE.format(bits=key.key_size))
    if numbers.e != RSA_EXPONENT:
        raise KeyRejected(MSG_RSA_EXPONENT)
    if numbers.n % 2 == 0:
        raise KeyRejected(MSG_RSA_MODULUS)
    if has_roca_fingerprint(numbers.n):
        raise KeyRejected(MSG_ROCA)
    thumbprint = RSAKey.import_key(key).thumbprint()
    return _describe(key, "RSA", ("PS256", "RS256"), key.key_size, thumbprint)


def _describe(
    key: PublicKeyTypes, key_type: str, algorithms: tuple[str, ...], bits: int, thumbprint: str
) -> PublicKeyInfo:
    """joserfc's `Key.thumbprint()` is RFC 7638; `jwk.thumbprint(dict)` hashes every member."""
    pem = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return PublicKeyInfo(
        key_type=key_type, algorithms=algorithms, thumbprint=thumbprint, spki_pem=pem, bits=bits
    )


# ---------------------------------------------------------------------------------------------
# Usability of stored keys (docs/security.md, "Keys": current, retiring within grace, revoked)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredKey:
    """What the usability rule needs to know of a stored signing key."""

    thumbprint: str
    key_type: str
    algorithms: tuple[str, ...]
    spki_pem: str
    created_at: datetime
    retired_at: datetime | None
    revoked_at: datetime | None
    last_verified_at: datetime | None = None


def grace_deadline(key: StoredKey, grace: timedelta) -> datetime | None:
    """A replaced key stays usable until `retired_at + grace`; None while current."""
    return None if key.retired_at is None else key.retired_at + grace


def is_usable(key: StoredKey, now: datetime, grace: timedelta) -> bool:
    """Usable unless revoked at or before `now`, or retired with its grace period over."""
    if key.revoked_at is not None and key.revoked_at <= now:
        return False
    deadline = grace_deadline(key, grace)
    return deadline is None or now < deadline


def usable_keys(keys: list[StoredKey], now: datetime, grace: timedelta) -> list[StoredKey]:
    """The keys a token may be verified with at `now`, current key first."""
    alive = [k for k in keys if is_usable(k, now, grace)]
    return sorted(
        alive, key=lambda k: (k.retired_at is not None, -(k.retired_at or k.created_at).timestamp())
    )
