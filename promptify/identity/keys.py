"""SPKI public-key paste validation, RFC 7638 thumbprints and key usability (SECURITY-NOTES §3).

Pure module: stdlib + cryptography + joserfc only. The paste is validated with `cryptography`
before joserfc ever sees it, because joserfc accepts private keys, certificates, OpenSSH keys and
trailing garbage (SECURITY-NOTES §0.10). No message ever echoes the pasted text.
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

MAX_PASTE_CHARS = 10_000
RSA_MIN_BITS, RSA_MAX_BITS, RSA_EXPONENT = 2048, 8192, 65537

_USE_INSTEAD = "Use an Ed25519, P-256 (ES256) or RSA (RS256/PS256) key."
MSG_TOO_LARGE = (
    "This is too large to be a public key (over 10,000 characters). "
    "Paste only the -----BEGIN PUBLIC KEY----- block."
)
MSG_EMPTY = "No key was pasted. Paste the -----BEGIN PUBLIC KEY----- block of your signing key."
MSG_PRIVATE = (
    "This is a private key. Never paste a private key: consider it exposed, rotate it "
    "(create a new key pair) and paste only the new PUBLIC key (-----BEGIN PUBLIC KEY-----)."
)
MSG_PRIVATE_JWK = (
    "This JWK contains private key material. Never paste a private key: consider it exposed, "
    "rotate it and paste only the PUBLIC key as a -----BEGIN PUBLIC KEY----- block."
)
MSG_JWK = (
    "JWK/JSON keys aren't accepted. Paste the key as a PEM -----BEGIN PUBLIC KEY----- block "
    "instead (your JOSE library can export it)."
)
MSG_OPENSSH = (
    "OpenSSH public keys aren't accepted. Convert it with `ssh-keygen -e -m PKCS8 -f key.pub` "
    "and paste the -----BEGIN PUBLIC KEY----- block it prints."
)
MSG_OPENSSH_ED25519 = (
    "OpenSSH keys aren't accepted, and ssh-keygen can't export Ed25519 keys as PEM. Create a "
    "dedicated signing key (`openssl genpkey -algorithm ed25519 -out key.pem`) and paste the "
    "output of `openssl pkey -in key.pem -pubout`."
)
MSG_SSH2 = (
    "SSH2 (RFC 4716) public keys aren't accepted. For RSA or ECDSA keys, convert with "
    "`ssh-keygen -i -f key.pub > openssh.pub` then `ssh-keygen -e -m PKCS8 -f openssh.pub`."
)
MSG_CERTIFICATE = (
    "Certificates aren't accepted. Extract the public key with "
    "`openssl x509 -in cert.pem -pubkey -noout` and paste that block."
)
MSG_CSR = (
    "Certificate requests aren't accepted. Extract the public key with "
    "`openssl req -in request.pem -pubkey -noout` and paste that block."
)
MSG_PKCS1 = (
    "This is a PKCS#1 RSA PUBLIC KEY; only the SPKI form is accepted. Convert it with "
    "`openssl rsa -RSAPublicKey_in -in key.pem -pubout` and paste the result."
)
MSG_NO_PEM = (
    "No PEM block found. Paste the whole key, "
    "from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY-----."
)
MSG_NOT_PUBLIC_KEY = "This PEM block is not a public key. Paste a -----BEGIN PUBLIC KEY----- block."
MSG_SEVERAL_BLOCKS = (
    "Paste exactly one PEM block; this text contains several. "
    "Keep only the -----BEGIN PUBLIC KEY----- block of your signing key."
)
MSG_TEXT_BEFORE = "Remove the text before -----BEGIN PUBLIC KEY-----; paste only the PEM block."
MSG_TEXT_AFTER = "Remove the text after -----END PUBLIC KEY-----; paste only the PEM block."
MSG_MISSING_END = (
    "Malformed PEM: the -----END PUBLIC KEY----- line is missing. "
    "Copy the whole block, including its last line."
)
MSG_MARKER_LINES = (
    "Malformed PEM: the -----BEGIN PUBLIC KEY----- and -----END PUBLIC KEY----- lines "
    "must each be on a line of their own."
)
MSG_PEM_HEADERS = (
    "Malformed PEM: headers such as Proc-Type or Comment aren't accepted. "
    "Keep only the base64 lines between BEGIN and END."
)
MSG_BAD_BASE64 = (
    "Malformed PEM: the lines between BEGIN and END are not valid base64. "
    "Copy the block again without changing it."
)
MSG_UNREADABLE = (
    "Malformed or non-canonical key: the block is not a valid DER public key (truncated, "
    "corrupted, BER-encoded or with extra bytes). Copy it again, or re-export it with "
    "`openssl pkey -pubin -in key.pem -pubout`."
)
MSG_UNSUPPORTED_ALGORITHM = f"Unsupported key type. {_USE_INSTEAD}"
MSG_UNSUPPORTED_TYPE = "Unsupported key type ({name}). " + _USE_INSTEAD
MSG_CURVE = (
    "Only P-256 (ES256) is supported for EC keys; this key uses {curve}. "
    "Create a P-256 or Ed25519 key instead."
)
MSG_RSA_SIZE = (
    "RSA keys must be 2048–8192 bits; this one is {bits} bits. "
    "Create a new RSA key of 2048, 3072 or 4096 bits."
)
MSG_RSA_EXPONENT = (
    "Unsupported RSA public exponent: only 65537 is accepted. "
    "Create a new RSA key with the standard exponent (every common tool's default)."
)
MSG_RSA_MODULUS = (
    "Invalid RSA modulus: it is even, so this cannot be a real RSA key. Create a new key pair."
)
MSG_ROCA = (
    "Weak RSA key (ROCA, CVE-2017-15361): it was made by a vulnerable Infineon chip and its "
    "private key can be recovered. Create a new key in software or on updated hardware."
)
MSG_ED25519_ENCODING = (
    "Invalid Ed25519 public key: the 32 bytes are not a canonical curve point. "
    "Create a new key pair and paste its public key."
)
MSG_ED25519_SMALL_ORDER = (
    "Invalid Ed25519 public key: it is a small-order point, which would let anyone forge "
    "signatures. Create a new key pair."
)
MSG_EC_COMPRESSED = (
    "Non-canonical key encoding: compressed EC points aren't accepted. Re-export it with "
    "`openssl ec -pubin -in key.pem -pubout -conv_form uncompressed`."
)
MSG_EC_EXPLICIT = (
    "Non-canonical key encoding: EC keys with explicit curve parameters aren't accepted. "
    "Re-export it with `openssl ec -pubin -in key.pem -pubout -param_enc named_curve`."
)
MSG_RSA_PSS = (
    "Non-canonical key encoding: RSA-PSS-only keys (id-RSASSA-PSS) aren't accepted. Convert it "
    "to a plain RSA key: `openssl rsa -pubin -in key.pem -RSAPublicKey_out -outform DER | "
    "openssl rsa -RSAPublicKey_in -inform DER -pubout`."
)
MSG_NON_CANONICAL = (
    "Non-canonical key encoding. Re-export the key with "
    "`openssl pkey -pubin -in key.pem -pubout` and paste the result."
)

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
# Parsing the paste (SECURITY-NOTES §3.1 table, §3.2 validator)
# ---------------------------------------------------------------------------------------------


def parse_spki_pem(text: str) -> PublicKeyInfo:
    """§3.1/§3.2: validate one pasted SPKI PEM public key and describe it.

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
    # points, the id-RSASSA-PSS OID and a missing NULL (§3.2); BER and trailing bytes fail to load.
    if key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) != der:
        raise KeyRejected(_non_canonical_message(key, der))
    return public_key_info_from_crypto_key(key)


def _normalise(text: str) -> str:
    """CRLF/CR to LF, strip every line and the whole text (§3.1 "accept (normalise)")."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.strip() for line in lines).strip()


def _refuse_other_formats(pasted: str) -> None:
    """Private keys anywhere, JWK/JSON, OpenSSH and SSH2 public keys (§3.1 rows 4, 7, 8)."""
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
    """Exactly one PEM block, labelled `PUBLIC KEY` (§3.1: certificate, PKCS#1, several blocks)."""
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
# Key rules and description (§3.1 rows: key types, curves, RSA size/exponent/modulus, ROCA)
# ---------------------------------------------------------------------------------------------


def public_key_info_from_crypto_key(key: PublicKeyTypes) -> PublicKeyInfo:
    """§3.1 key rules for a `cryptography` public key object; raises `KeyRejected` like the paste.

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
    """§0.12/§3.2: only canonical points of large order; OpenSSL checks neither on load."""
    point = _ed25519_decode(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    if point is None:
        raise KeyRejected(MSG_ED25519_ENCODING)
    if _ed25519_has_small_order(point):
        raise KeyRejected(MSG_ED25519_SMALL_ORDER)
    thumbprint = OKPKey.import_key(key).thumbprint()
    return _describe(key, "Ed25519", ("EdDSA", "Ed25519"), 255, thumbprint)


def _ec_info(key: ec.EllipticCurvePublicKey) -> PublicKeyInfo:
    """§3.1: P-256 only (ES256); cryptography has already checked that the point is on it."""
    if not isinstance(key.curve, ec.SECP256R1):
        curve = _CURVE_NAMES.get(key.curve.name, key.curve.name)
        raise KeyRejected(MSG_CURVE.format(curve=curve))
    return _describe(key, "P-256", ("ES256",), 256, ECKey.import_key(key).thumbprint())


def _rsa_info(key: rsa.RSAPublicKey) -> PublicKeyInfo:
    """§1 #31 / §3.1: 2048-8192 bits, e = 65537, odd modulus, no ROCA fingerprint."""
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
    """§3.3: joserfc's `Key.thumbprint()` is RFC 7638 (unlike `jwk.thumbprint(dict)`, §0.11)."""
    pem = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return PublicKeyInfo(
        key_type=key_type, algorithms=algorithms, thumbprint=thumbprint, spki_pem=pem, bits=bits
    )


# ---------------------------------------------------------------------------------------------
# Ed25519 point validation (RFC 8032 §5.1.3 decoding, §5.1.4 doubling; SECURITY-NOTES §0.12)
# ---------------------------------------------------------------------------------------------

_P = 2**255 - 19
_D = -121665 * pow(121666, -1, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def ed25519_pub_ok(raw: bytes) -> bool:
    """True iff `raw` is a canonical RFC 8032 encoding of a point whose order is not small.

    Rejects y ≥ p, x² without a square root, the "-0" encoding (x = 0 with the sign bit set) and
    the 8 torsion points (8·P = identity). A small-order key lets `R = identity, S = 0` verify
    for every message under OpenSSL (SECURITY-NOTES §0.12). Mixed-order points are accepted.
    """
    point = _ed25519_decode(raw)
    return point is not None and not _ed25519_has_small_order(point)


def _ed25519_decode(raw: bytes) -> tuple[int, int] | None:
    """RFC 8032 §5.1.3 point decoding; None where the RFC says decoding fails."""
    if len(raw) != 32:
        return None
    encoded = int.from_bytes(raw, "little")
    sign, y = encoded >> 255, encoded & ((1 << 255) - 1)
    if y >= _P:
        return None
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if v * x * x % _P == (-u) % _P:
        x = x * _SQRT_M1 % _P
    if v * x * x % _P != u:
        return None
    if x == 0 and sign == 1:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _ed25519_has_small_order(point: tuple[int, int]) -> bool:
    """8·P is the identity, computed by three doublings in extended coordinates."""
    x, y = point
    ext = (x, y, 1, x * y % _P)
    for _ in range(3):
        ext = _ed25519_double(ext)
    big_x, big_y, big_z, _t = ext
    return big_x == 0 and big_y == big_z


def _ed25519_double(ext: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """RFC 8032 §5.1.4 doubling (a = -1); complete, so Z never becomes 0."""
    x1, y1, z1, _t1 = ext
    a, b, c = x1 * x1 % _P, y1 * y1 % _P, 2 * z1 * z1 % _P
    h = (a + b) % _P
    e = (h - (x1 + y1) * (x1 + y1)) % _P
    g = (a - b) % _P
    f = (c + g) % _P
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


# ---------------------------------------------------------------------------------------------
# ROCA (CVE-2017-15361; Nemec et al. 2017 fingerprint, SECURITY-NOTES §3.2 end)
# ---------------------------------------------------------------------------------------------

_ROCA_PRIMES = (
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71,
    73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
)  # fmt: skip


def _powers_of(generator: int, modulus: int) -> frozenset[int]:
    """The multiplicative subgroup generated by `generator` mod `modulus`."""
    seen: set[int] = set()
    value = 1
    while value not in seen:
        seen.add(value)
        value = value * generator % modulus
    return frozenset(seen)


_ROCA_SUBGROUPS = tuple((p, _powers_of(RSA_EXPONENT % p, p)) for p in _ROCA_PRIMES)


def has_roca_fingerprint(n: int) -> bool:
    """True iff `n mod p` lies in ⟨65537⟩ mod p for every small prime p of the ROCA detector.

    Infineon's primes have the form k·M + (65537^a mod M), so their products carry this
    fingerprint; a random modulus passes all 38 tests with negligible probability.
    """
    return all(n % p in subgroup for p, subgroup in _ROCA_SUBGROUPS)


# ---------------------------------------------------------------------------------------------
# Usability of stored keys (§2.4 rotation; PRODUCT.md wins on the grace rules)
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


def grace_deadline(key: StoredKey, grace: timedelta) -> datetime | None:
    """§2.1: a replaced key stays usable until `retired_at + grace`; None while current."""
    return None if key.retired_at is None else key.retired_at + grace


def is_usable(key: StoredKey, now: datetime, grace: timedelta) -> bool:
    """§2.4: usable unless revoked at or before `now`, or retired with its grace period over."""
    if key.revoked_at is not None and key.revoked_at <= now:
        return False
    deadline = grace_deadline(key, grace)
    return deadline is None or now < deadline


def usable_keys(keys: list[StoredKey], now: datetime, grace: timedelta) -> list[StoredKey]:
    """The keys a token may be verified with at `now`, current key first."""
    alive = [k for k in keys if is_usable(k, now, grace)]
    return sorted(alive, key=lambda k: (k.retired_at is not None, -(k.retired_at or k.created_at).timestamp()))
