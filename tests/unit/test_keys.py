"""promptify.identity.keys: the key paste rules (docs/security.md, "Key paste rules"), Ed25519
point checks, RFC 7638 thumbprints, ROCA, key usability, and the purity of `promptify/identity`.

Keys are generated per test with `cryptography` (no PEM files of private keys are committed).
RSA-2048 is generated once per module; other RSA sizes and odd exponents/moduli are built from
numbers or DER, because only the public half matters to the upload rules.
"""

from __future__ import annotations

import ast
import base64
import functools
import hashlib
import json
import random
import re
import sys
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey

import promptify.identity.keys
from promptify.identity.keys import (
    KeyRejected,
    StoredKey,
    ed25519_pub_ok,
    grace_deadline,
    has_roca_fingerprint,
    is_usable,
    parse_spki_pem,
    public_key_info_from_crypto_key,
    usable_keys,
)
from promptify.identity.keys import messages as key_messages
from tests.der import bit_string, der_int, seq, tlv

P = 2**255 - 19
NEVER_PASTE = "Never paste a private key"

# --------------------------------------------------------------------------------------------
# Builders: DER, PEM and keys
# --------------------------------------------------------------------------------------------

OID_RSA = bytes.fromhex("06092a864886f70d010101")
OID_RSA_PSS = bytes.fromhex("06092a864886f70d01010a")
OID_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")
OID_P256 = bytes.fromhex("06082a8648ce3d030107")
OID_PRIME_FIELD = bytes.fromhex("06072a8648ce3d0101")
OID_ED25519 = bytes.fromhex("06032b6570")
DER_NULL = b"\x05\x00"


def rsa_spki(n: int, e: int, algorithm: bytes = seq(OID_RSA, DER_NULL)) -> bytes:
    return seq(algorithm, bit_string(seq(der_int(n), der_int(e))))


def ed25519_spki(raw: bytes) -> bytes:
    return seq(seq(OID_ED25519), bit_string(raw))


def armor(der: bytes, label: str = "PUBLIC KEY", width: int = 64) -> str:
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + width] for i in range(0, len(body), width)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def spki_der(public_key: object) -> bytes:
    return public_key.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]


def spki_pem(public_key: object) -> str:
    return armor(spki_der(public_key))


def private_pem(key: object, fmt: ser.PrivateFormat, password: bytes | None = None) -> str:
    encryption = ser.BestAvailableEncryption(password) if password else ser.NoEncryption()
    return key.private_bytes(ser.Encoding.PEM, fmt, encryption).decode("ascii")  # type: ignore[attr-defined]


@functools.cache
def rsa2048() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@functools.cache
def p256_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def rsa2048_n() -> int:
    return rsa2048().public_key().public_numbers().n


def odd_modulus(bits: int, seed: int) -> int:
    """A random odd number of exactly `bits` bits: a plausible RSA modulus for the upload rules."""
    return random.Random(seed).getrandbits(bits) | (1 << (bits - 1)) | 1


def rsa_public_pem(n: int, e: int = 65537) -> str:
    return armor(rsa_spki(n, e))


def roca_like_modulus(bits: int = 2048) -> int:
    """n ≡ 65537^c (mod M), M = ∏ odd primes ≤ 167: exactly the ROCA fingerprint (Nemec et al.)."""
    primes = [p for p in range(3, 168) if all(p % q for q in range(2, p))]
    m = 1
    for p in primes:
        m *= p
    rng = random.Random(15361)
    while True:
        k = bits - m.bit_length()
        n = pow(65537, rng.randrange(1, 1 << 20), m) + m * (rng.getrandbits(k) | (1 << (k - 1)))
        if n.bit_length() == bits and n % 2 == 1:
            return n


def p256_explicit_params_spki(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """SEC 1 ECParameters spelled out for P-256 instead of the named-curve OID."""
    p = 2**256 - 2**224 + 2**192 + 2**96 - 1
    b = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
    gx = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
    gy = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    curve = seq(tlv(0x04, (p - 3).to_bytes(32, "big")), tlv(0x04, b.to_bytes(32, "big")))
    base = tlv(0x04, b"\x04" + gx.to_bytes(32, "big") + gy.to_bytes(32, "big"))
    params = seq(
        der_int(1), seq(OID_PRIME_FIELD, der_int(p)), curve, base, der_int(order), der_int(1)
    )
    point = public_key.public_bytes(ser.Encoding.X962, ser.PublicFormat.UncompressedPoint)
    return seq(seq(OID_EC_PUBLIC_KEY, params), bit_string(point))


def p256_compressed_spki(public_key: ec.EllipticCurvePublicKey) -> bytes:
    point = public_key.public_bytes(ser.Encoding.X962, ser.PublicFormat.CompressedPoint)
    return seq(seq(OID_EC_PUBLIC_KEY, OID_P256), bit_string(point))


def self_signed_certificate(key: ed25519.Ed25519PrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "promptify-test")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(4711)
        .not_valid_before(datetime(2025, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2030, 1, 1, tzinfo=UTC))
    )
    return builder.sign(key, None)


def certificate_pem(key: ed25519.Ed25519PrivateKey) -> str:
    return self_signed_certificate(key).public_bytes(ser.Encoding.PEM).decode("ascii")


def csr_pem() -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "promptify-test")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(ed_key(), None)
    return csr.public_bytes(ser.Encoding.PEM).decode("ascii")


def openssh_public(public_key: object) -> str:
    return public_key.public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH).decode("ascii")  # type: ignore[attr-defined]


def public_jwk_json(public_key: ec.EllipticCurvePublicKey) -> str:
    return json.dumps(ECKey.import_key(public_key).as_dict())


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def manual_thumbprint(public_key: object) -> str:
    """RFC 7638 §3 by hand (only the members RFC 7638 §3.2 requires), independent of joserfc."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
        members = {"crv": "Ed25519", "kty": "OKP", "x": b64u(raw)}
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        nums = public_key.public_numbers()
        x, y = b64u(nums.x.to_bytes(32, "big")), b64u(nums.y.to_bytes(32, "big"))
        members = {"crv": "P-256", "kty": "EC", "x": x, "y": y}
    else:
        assert isinstance(public_key, rsa.RSAPublicKey)
        n = public_key.public_numbers().n
        members = {
            "e": "AQAB",
            "kty": "RSA",
            "n": b64u(n.to_bytes((n.bit_length() + 7) // 8, "big")),
        }
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode("ascii")
    return b64u(hashlib.sha256(canonical).digest())


def rejection(text: str) -> str:
    with pytest.raises(KeyRejected) as info:
        parse_spki_pem(text)
    return info.value.message


# --------------------------------------------------------------------------------------------
# Accepted pastes, normalised where needed
# --------------------------------------------------------------------------------------------

ACCEPT_CASES: list[tuple[str, Callable[[], object], str, tuple[str, ...], int]] = [
    ("ed25519", lambda: ed_key().public_key(), "Ed25519", ("EdDSA", "Ed25519"), 255),
    ("p256", lambda: p256_key().public_key(), "P-256", ("ES256",), 256),
    ("rsa2048", lambda: rsa2048().public_key(), "RSA", ("PS256", "RS256"), 2048),
    # Constructed, not generated: an 8192-bit keygen costs seconds and only n matters here.
    (
        "rsa8192",
        lambda: rsa.RSAPublicNumbers(65537, odd_modulus(8192, 1)).public_key(),
        "RSA",
        ("PS256", "RS256"),
        8192,
    ),
]


@pytest.mark.parametrize(
    ("make", "key_type", "algorithms", "bits"),
    [c[1:] for c in ACCEPT_CASES],
    ids=[c[0] for c in ACCEPT_CASES],
)
def test_accepts_supported_spki_keys(
    make: Callable[[], object], key_type: str, algorithms: tuple[str, ...], bits: int
) -> None:
    public_key = make()
    info = parse_spki_pem(spki_pem(public_key))
    assert (info.key_type, info.algorithms, info.bits) == (key_type, algorithms, bits)
    assert (
        info.spki_pem
        == public_key.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo).decode()
    )  # type: ignore[attr-defined]
    assert info.thumbprint == manual_thumbprint(public_key)


def test_accepted_key_round_trips_through_its_canonical_pem() -> None:
    info = parse_spki_pem(spki_pem(p256_key().public_key()))
    assert parse_spki_pem(info.spki_pem) == info
    assert info.spki_pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert info.spki_pem.endswith("-----END PUBLIC KEY-----\n")


def _reflow(pem: str, width: int) -> str:
    body = "".join(pem.strip().splitlines()[1:-1])
    lines = [body[i : i + width] for i in range(0, len(body), width)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


NORMALISATIONS: list[tuple[str, Callable[[str], str]]] = [
    ("crlf", lambda pem: pem.replace("\n", "\r\n")),
    ("surrounding-whitespace", lambda pem: "\n\n \t" + pem + "  \n\n"),
    ("no-final-newline", lambda pem: pem.rstrip("\n")),
    ("lines-76", lambda pem: _reflow(pem, 76)),
    ("lines-1", lambda pem: _reflow(pem, 1)),
    ("one-long-line", lambda pem: _reflow(pem, 10_000)),
    (
        "indented-and-trailing-spaces",
        lambda pem: "\n".join("  " + line + " " for line in pem.splitlines()),
    ),
    ("crlf-no-final-newline", lambda pem: pem.rstrip("\n").replace("\n", "\r\n")),
]


@pytest.mark.parametrize(
    "transform", [t for _, t in NORMALISATIONS], ids=[i for i, _ in NORMALISATIONS]
)
@pytest.mark.parametrize(
    "make",
    [lambda: ed_key().public_key(), lambda: rsa2048().public_key()],
    ids=["ed25519", "rsa2048"],
)
def test_normalises_harmless_formatting(
    transform: Callable[[str], str], make: Callable[[], object]
) -> None:
    canonical = spki_pem(make())
    assert parse_spki_pem(transform(canonical)).spki_pem == canonical


def test_accepts_exactly_10000_characters_and_refuses_10001() -> None:
    pem = spki_pem(ed_key().public_key())
    padded = pem + " " * (10_000 - len(pem))
    assert len(padded) == 10_000
    assert parse_spki_pem(padded).key_type == "Ed25519"
    assert "too large" in rejection(padded + " ")


# --------------------------------------------------------------------------------------------
# Refused pastes: (id, builder of the pasted text, key part of the message)
# --------------------------------------------------------------------------------------------


def _two_blocks(first: str, second: str) -> str:
    return first + second


def _with_pem_header(header: str) -> str:
    lines = spki_pem(ed_key().public_key()).splitlines()
    return "\n".join([lines[0], header, "", *lines[1:]]) + "\n"


def _base64_edit(edit: Callable[[str], str]) -> str:
    lines = spki_pem(p256_key().public_key()).splitlines()
    return "\n".join([lines[0], edit("".join(lines[1:-1])), lines[-1]])


def _flip_unused_base64_bits(body: str) -> str:
    """Same bytes, non-canonical text: set an unused low bit of the last base64 digit."""
    stripped = body.rstrip("=")
    assert stripped != body, "needs a padded body, where the last digit has unused bits"
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet[alphabet.index(stripped[-1]) ^ 1]
    return stripped[:-1] + last + body[len(stripped) :]


def _ed25519_pem(hex_raw: str) -> str:
    return armor(ed25519_spki(bytes.fromhex(hex_raw)))


def pkcs1_public_pem() -> str:
    public_key = rsa2048().public_key()
    return public_key.public_bytes(ser.Encoding.PEM, ser.PublicFormat.PKCS1).decode("ascii")


REFUSE_CASES: list[tuple[str, Callable[[], str], str]] = [
    # private keys of every kind
    ("pkcs8-ed25519", lambda: private_pem(ed_key(), ser.PrivateFormat.PKCS8), NEVER_PASTE),
    ("pkcs8-rsa", lambda: private_pem(rsa2048(), ser.PrivateFormat.PKCS8), NEVER_PASTE),
    (
        "rsa-private-key",
        lambda: private_pem(rsa2048(), ser.PrivateFormat.TraditionalOpenSSL),
        NEVER_PASTE,
    ),
    (
        "ec-private-key",
        lambda: private_pem(p256_key(), ser.PrivateFormat.TraditionalOpenSSL),
        NEVER_PASTE,
    ),
    (
        "encrypted-private-key",
        lambda: private_pem(ed_key(), ser.PrivateFormat.PKCS8, b"pw"),
        NEVER_PASTE,
    ),
    ("openssh-private-key", lambda: private_pem(ed_key(), ser.PrivateFormat.OpenSSH), NEVER_PASTE),
    (
        "private-after-public",
        lambda: _two_blocks(
            spki_pem(ed_key().public_key()), private_pem(ed_key(), ser.PrivateFormat.PKCS8)
        ),
        NEVER_PASTE,
    ),
    (
        "private-with-text-before",
        lambda: "key: " + private_pem(ed_key(), ser.PrivateFormat.PKCS8),
        NEVER_PASTE,
    ),
    (
        "pkcs8-relabelled-public",
        lambda: armor(
            ed_key().private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())
        ),
        NEVER_PASTE,
    ),
    (
        "putty-private-key",
        lambda: "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x\n",
        NEVER_PASTE,
    ),
    (
        "jwk-with-d",
        lambda: json.dumps(ECKey.import_key(p256_key()).as_dict(private=True)),
        NEVER_PASTE,
    ),
    # certificates
    ("certificate", lambda: certificate_pem(ed_key()), "openssl x509 -in cert.pem -pubkey -noout"),
    (
        "certificate-chain",
        lambda: certificate_pem(ed_key()) * 2,
        "openssl x509 -in cert.pem -pubkey -noout",
    ),
    (
        "certificate-relabelled-public",
        lambda: armor(self_signed_certificate(ed_key()).public_bytes(ser.Encoding.DER)),
        "openssl x509 -in cert.pem -pubkey -noout",
    ),
    ("certificate-request", csr_pem, "openssl req -in request.pem -pubkey -noout"),
    # PKCS#1, OpenSSH, SSH2, JWK
    ("pkcs1-rsa-public-key", pkcs1_public_pem, "openssl rsa -RSAPublicKey_in -in key.pem -pubout"),
    (
        "openssh-rsa",
        lambda: openssh_public(rsa2048().public_key()),
        "ssh-keygen -e -m PKCS8 -f key.pub",
    ),
    (
        "openssh-ecdsa",
        lambda: openssh_public(p256_key().public_key()),
        "ssh-keygen -e -m PKCS8 -f key.pub",
    ),
    (
        "openssh-ed25519",
        lambda: openssh_public(ed_key().public_key()),
        "ssh-keygen can't export Ed25519 keys",
    ),
    (
        "ssh2-public-key",
        lambda: "---- BEGIN SSH2 PUBLIC KEY ----\nAAAAC3Nza\n---- END SSH2 PUBLIC KEY ----\n",
        "ssh-keygen -i -f key.pub",
    ),
    (
        "jwk-public",
        lambda: public_jwk_json(p256_key().public_key()),
        "JWK/JSON keys aren't accepted",
    ),
    (
        "jwks-public",
        lambda: '{"keys": [' + public_jwk_json(p256_key().public_key()) + "]}",
        "JWK/JSON keys aren't accepted",
    ),
    # curves and key types
    (
        "p384",
        lambda: spki_pem(ec.generate_private_key(ec.SECP384R1()).public_key()),
        "Only P-256 (ES256) is supported for EC keys; this key uses P-384",
    ),
    (
        "p521",
        lambda: spki_pem(ec.generate_private_key(ec.SECP521R1()).public_key()),
        "Only P-256 (ES256) is supported for EC keys; this key uses P-521",
    ),
    (
        "secp256k1",
        lambda: spki_pem(ec.generate_private_key(ec.SECP256K1()).public_key()),
        "Only P-256 (ES256) is supported for EC keys; this key uses secp256k1",
    ),
    (
        "brainpool",
        lambda: spki_pem(ec.generate_private_key(ec.BrainpoolP256R1()).public_key()),
        "Only P-256 (ES256)",
    ),
    (
        "ed448",
        lambda: spki_pem(ed448.Ed448PrivateKey.generate().public_key()),
        "Unsupported key type (Ed448)",
    ),
    (
        "x25519",
        lambda: spki_pem(x25519.X25519PrivateKey.generate().public_key()),
        "Unsupported key type (X25519)",
    ),
    (
        "x448",
        lambda: spki_pem(x448.X448PrivateKey.generate().public_key()),
        "Unsupported key type (X448)",
    ),
    (
        "dsa",
        lambda: spki_pem(dsa.generate_private_key(1024).public_key()),
        "Unsupported key type (DSA)",
    ),
    (
        "unknown-oid",
        lambda: armor(seq(seq(bytes.fromhex("06032a0304")), bit_string(bytes(32)))),
        "Unsupported key type.",
    ),
    # RSA size, exponent, modulus, ROCA
    (
        "rsa1024",
        lambda: spki_pem(rsa.generate_private_key(65537, 1024).public_key()),
        "RSA keys must be 2048–8192 bits; this one is 1024 bits",
    ),
    ("rsa2047", lambda: rsa_public_pem(odd_modulus(2047, 2)), "this one is 2047 bits"),
    ("rsa8200", lambda: rsa_public_pem(odd_modulus(8200, 3)), "this one is 8200 bits"),
    ("rsa-e3", lambda: rsa_public_pem(rsa2048_n(), 3), "only 65537 is accepted"),
    ("rsa-e65539", lambda: rsa_public_pem(rsa2048_n(), 65539), "only 65537 is accepted"),
    ("rsa-e2^64+1", lambda: rsa_public_pem(rsa2048_n(), 2**64 + 1), "only 65537 is accepted"),
    ("rsa-e1", lambda: rsa_public_pem(rsa2048_n(), 1), "only 65537 is accepted"),
    ("rsa-e-even", lambda: rsa_public_pem(rsa2048_n(), 65538), "only 65537 is accepted"),
    (
        "rsa-even-modulus",
        lambda: rsa_public_pem(rsa2048_n() + 1),
        "Invalid RSA modulus: it is even",
    ),
    ("rsa-roca", lambda: rsa_public_pem(roca_like_modulus()), "Weak RSA key (ROCA"),
    # Ed25519 points
    (
        "ed25519-identity",
        lambda: _ed25519_pem("01" + "00" * 31),
        "Invalid Ed25519 public key: it is a small-order point",
    ),
    (
        "ed25519-y-equals-p",
        lambda: _ed25519_pem("ed" + "ff" * 30 + "7f"),
        "Invalid Ed25519 public key: the 32 bytes are not a canonical curve point",
    ),
    # non-canonical DER
    (
        "ec-explicit-params",
        lambda: armor(p256_explicit_params_spki(p256_key().public_key())),
        "explicit curve parameters",
    ),
    (
        "ec-compressed-point",
        lambda: armor(p256_compressed_spki(p256_key().public_key())),
        "compressed EC points",
    ),
    ("rsa-pss-oid", lambda: armor(rsa_spki(rsa2048_n(), 65537, seq(OID_RSA_PSS))), "id-RSASSA-PSS"),
    (
        "rsa-missing-null",
        lambda: armor(rsa_spki(rsa2048_n(), 65537, seq(OID_RSA))),
        "Non-canonical key encoding.",
    ),
    (
        "ber-long-length",
        lambda: armor(b"\x30\x81\x2a" + spki_der(ed_key().public_key())[2:]),
        "Malformed or non-canonical key",
    ),
    (
        "trailing-der-bytes",
        lambda: armor(spki_der(ed_key().public_key()) + b"\x00"),
        "Malformed or non-canonical key",
    ),
    (
        "truncated-der",
        lambda: armor(spki_der(p256_key().public_key())[:-8]),
        "Malformed or non-canonical key",
    ),
    # PEM shape
    (
        "two-public-blocks",
        lambda: _two_blocks(spki_pem(ed_key().public_key()), spki_pem(p256_key().public_key())),
        "Paste exactly one PEM block",
    ),
    (
        "text-before",
        lambda: "My key:\n" + spki_pem(ed_key().public_key()),
        "Remove the text before",
    ),
    (
        "text-before-same-line",
        lambda: "key=" + spki_pem(ed_key().public_key()),
        "Remove the text before",
    ),
    ("text-after", lambda: spki_pem(ed_key().public_key()) + "thanks!\n", "Remove the text after"),
    (
        "text-after-same-line",
        lambda: spki_pem(ed_key().public_key()).rstrip() + "garbage",
        "Remove the text after",
    ),
    (
        "header-proc-type",
        lambda: _with_pem_header(
            "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF"
        ),
        "headers such as Proc-Type or Comment",
    ),
    (
        "header-comment",
        lambda: _with_pem_header("Comment: my signing key"),
        "headers such as Proc-Type or Comment",
    ),
    ("bad-base64-char", lambda: _base64_edit(lambda b: b[:10] + "*" + b[11:]), "not valid base64"),
    (
        "space-inside-base64",
        lambda: _base64_edit(lambda b: b[:10] + " " + b[10:]),
        "not valid base64",
    ),
    ("missing-padding", lambda: _base64_edit(lambda b: b.rstrip("=")[:-1]), "not valid base64"),
    (
        "padding-in-the-middle",
        lambda: _base64_edit(lambda b: b[:8] + "====" + b[8:]),
        "not valid base64",
    ),
    (
        "non-canonical-base64-bits",
        lambda: _base64_edit(_flip_unused_base64_bits),
        "not valid base64",
    ),
    (
        "missing-end-line",
        lambda: spki_pem(ed_key().public_key()).rsplit("-----END", 1)[0],
        "END PUBLIC KEY----- line is missing",
    ),
    (
        "begin-and-body-on-one-line",
        lambda: spki_pem(ed_key().public_key()).replace("-----\n", "-----", 1),
        "on a line of their own",
    ),
    (
        "empty-body",
        lambda: "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----",
        "on a line of their own",
    ),
    (
        "other-label",
        lambda: armor(bytes.fromhex("06082a8648ce3d030107"), "EC PARAMETERS"),
        "not a public key",
    ),
    ("no-pem-at-all", lambda: "hello, here is my key", "No PEM block found"),
    (
        "bare-base64",
        lambda: base64.b64encode(spki_der(ed_key().public_key())).decode(),
        "No PEM block found",
    ),
    ("empty", lambda: "", "No key was pasted"),
    ("whitespace-only", lambda: " \r\n\t\n ", "No key was pasted"),
    ("too-large", lambda: "A" * 10_001, "too large"),
    (
        "too-large-private-key",
        lambda: private_pem(ed_key(), ser.PrivateFormat.PKCS8) + " " * 10_000,
        "too large",
    ),
]


@pytest.mark.parametrize(
    ("make_text", "expected"), [c[1:] for c in REFUSE_CASES], ids=[c[0] for c in REFUSE_CASES]
)
def test_refuses_with_a_precise_message(make_text: Callable[[], str], expected: str) -> None:
    text = make_text()
    message = rejection(text)
    assert expected in message
    for line in text.splitlines():
        line = line.strip()
        if len(line) >= 12 and not line.startswith(("-----", "---- ")):
            assert line not in message, "the message must never echo the pasted text"


def test_every_message_is_short_plain_and_at_most_two_sentences() -> None:
    messages = {
        name: value for name, value in vars(key_messages).items() if name.startswith("MSG_")
    }
    assert len(messages) >= 30
    for name, message in messages.items():
        assert len(message) <= 300, name
        assert len(re.findall(r"[.!?](?=\s|$)", message)) <= 2, name
        assert "\n" not in message, name


def test_private_key_is_reported_before_any_other_problem() -> None:
    pasted = (
        "garbage\n"
        + certificate_pem(ed_key())
        + private_pem(rsa2048(), ser.PrivateFormat.TraditionalOpenSSL)
    )
    assert NEVER_PASTE in rejection(pasted)


def test_rsa_1024_is_refused_before_joserfc_sees_it() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # joserfc warns on RSA < 2048: it must never be reached
        message = rejection(spki_pem(rsa.generate_private_key(65537, 1024).public_key()))
    assert "2048–8192 bits" in message


def test_public_key_info_from_crypto_key_applies_the_same_key_rules() -> None:
    public_key = p256_key().public_key()
    assert public_key_info_from_crypto_key(public_key) == parse_spki_pem(spki_pem(public_key))
    with pytest.raises(KeyRejected, match="Ed448"):
        public_key_info_from_crypto_key(ed448.Ed448PrivateKey.generate().public_key())
    with pytest.raises(KeyRejected, match="only 65537"):
        public_key_info_from_crypto_key(rsa.RSAPublicNumbers(3, rsa2048_n()).public_key())


# --------------------------------------------------------------------------------------------
# Ed25519 points (RFC 8032 §5.1.3): non-canonical encodings and the 8 small-order points
# --------------------------------------------------------------------------------------------

TORSION_POINTS = {  # all 8 points of order 1, 2, 4, 8 (libsodium's blocklist y values, both signs)
    "order1-identity": "01" + "00" * 31,
    "order2": "ec" + "ff" * 30 + "7f",
    "order4-x+": "00" * 32,
    "order4-x-": "00" * 31 + "80",
    "order8a-x+": "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "order8a-x-": "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "order8b-x+": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "order8b-x-": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
}


def _first_non_square_y() -> int:
    d = -121665 * pow(121666, -1, P) % P
    for y in range(2, 1000):
        x2 = (y * y - 1) * pow(d * y * y + 1, -1, P) % P
        if pow(x2, (P - 1) // 2, P) == P - 1:  # Euler's criterion: no square root
            return y
    raise AssertionError("unreachable: half of all y values are non-squares")


NON_CANONICAL_POINTS = {
    "y=p": "ed" + "ff" * 30 + "7f",
    "y=p,sign": "ed" + "ff" * 30 + "ff",
    "y=p+1": "ee" + "ff" * 30 + "7f",
    "y=p+1,sign": "ee" + "ff" * 30 + "ff",
    "y=2^255-1": "ff" * 31 + "7f",
    "-0-identity": "01" + "00" * 30 + "80",
    "-0-order2": "ec" + "ff" * 30 + "ff",
    "x2-not-square": _first_non_square_y().to_bytes(32, "little").hex(),
}


@pytest.mark.parametrize("hex_raw", TORSION_POINTS.values(), ids=TORSION_POINTS.keys())
def test_ed25519_small_order_points_are_refused(hex_raw: str) -> None:
    assert not ed25519_pub_ok(bytes.fromhex(hex_raw))
    assert "small-order point" in rejection(_ed25519_pem(hex_raw))


@pytest.mark.parametrize("hex_raw", NON_CANONICAL_POINTS.values(), ids=NON_CANONICAL_POINTS.keys())
def test_ed25519_non_canonical_encodings_are_refused(hex_raw: str) -> None:
    assert not ed25519_pub_ok(bytes.fromhex(hex_raw))
    assert "not a canonical curve point" in rejection(_ed25519_pem(hex_raw))


def test_ed25519_pub_ok_refuses_wrong_lengths() -> None:
    assert not ed25519_pub_ok(b"")
    assert not ed25519_pub_ok(bytes(31))
    assert not ed25519_pub_ok(bytes(33))


def test_200_random_ed25519_keys_are_accepted() -> None:
    for _ in range(200):
        public_key = ed25519.Ed25519PrivateKey.generate().public_key()
        assert ed25519_pub_ok(public_key.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw))
        assert parse_spki_pem(spki_pem(public_key)).thumbprint == manual_thumbprint(public_key)


# --------------------------------------------------------------------------------------------
# RFC 7638 thumbprints and ROCA
# --------------------------------------------------------------------------------------------

RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
    "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQ"
    "MicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2Nc"
    "Rwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)


def _b64u_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def test_thumbprint_of_the_rfc7638_section_3_1_example() -> None:
    n = int.from_bytes(_b64u_decode(RFC7638_N), "big")
    info = parse_spki_pem(rsa_public_pem(n))
    assert info.thumbprint == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_thumbprint_of_the_rfc8037_a4_ed25519_key() -> None:
    raw = _b64u_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
    info = parse_spki_pem(armor(ed25519_spki(raw)))
    assert info.thumbprint == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_thumbprint_matches_the_manual_form_for_p256() -> None:
    for _ in range(10):
        public_key = ec.generate_private_key(ec.SECP256R1()).public_key()
        assert parse_spki_pem(spki_pem(public_key)).thumbprint == manual_thumbprint(public_key)


def test_roca_fingerprint_flags_constructed_moduli_only() -> None:
    assert has_roca_fingerprint(roca_like_modulus())
    assert has_roca_fingerprint(roca_like_modulus(4096))
    assert not has_roca_fingerprint(rsa2048_n())
    assert not any(has_roca_fingerprint(odd_modulus(2048, seed)) for seed in range(200))


# --------------------------------------------------------------------------------------------
# Key usability with literal datetimes (docs/security.md, "Keys": the default grace is 2 h)
# --------------------------------------------------------------------------------------------

GRACE = timedelta(hours=2)
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def stored(
    thumbprint: str,
    created: datetime,
    retired: datetime | None = None,
    revoked: datetime | None = None,
) -> StoredKey:
    return StoredKey(thumbprint, "Ed25519", ("EdDSA", "Ed25519"), "pem", created, retired, revoked)


def test_current_key_is_usable_indefinitely() -> None:
    key = stored("cur", T0)
    assert grace_deadline(key, GRACE) is None
    assert is_usable(key, T0, GRACE)
    assert is_usable(key, T0 + timedelta(days=3650), GRACE)


def test_retired_key_is_usable_only_during_the_grace_period() -> None:
    retired_at = T0 + timedelta(days=1)
    key = stored("old", T0, retired=retired_at)
    assert grace_deadline(key, GRACE) == datetime(2025, 3, 2, 14, 0, tzinfo=UTC)
    assert is_usable(key, retired_at + timedelta(hours=1, minutes=59), GRACE)
    assert not is_usable(key, retired_at + timedelta(hours=2), GRACE)
    assert not is_usable(key, retired_at + timedelta(hours=2, minutes=1), GRACE)


def test_revoked_key_is_not_usable() -> None:
    revoked_at = T0 + timedelta(hours=1)
    current = stored("cur", T0, revoked=revoked_at)
    retiring = stored("old", T0, retired=T0, revoked=revoked_at)
    for key in (current, retiring):
        assert not is_usable(key, revoked_at, GRACE)
        assert not is_usable(key, revoked_at + timedelta(minutes=1), GRACE)


def test_usable_keys_lists_current_first_then_newest_retired() -> None:
    now = T0 + timedelta(days=10)
    current = stored("cur", now - timedelta(minutes=5))
    newer = stored("newer", T0, retired=now - timedelta(minutes=5))
    older = stored("older", T0, retired=now - timedelta(minutes=90))
    expired = stored("expired", T0, retired=now - timedelta(hours=2, minutes=1))
    revoked = stored(
        "revoked", T0, retired=now - timedelta(minutes=1), revoked=now - timedelta(seconds=1)
    )
    result = usable_keys([older, expired, newer, revoked, current], now, GRACE)
    assert [k.thumbprint for k in result] == ["cur", "newer", "older"]


# --------------------------------------------------------------------------------------------
# The keys package depends on nothing but the standard library, cryptography and joserfc
# (the identity layer as a whole is checked in tests/unit/test_architecture.py)
# --------------------------------------------------------------------------------------------

KEYS_DIR = Path(promptify.identity.keys.__file__).parent


def _absolute_imports(path: Path) -> set[str]:
    """Modules imported by absolute name; relative imports stay inside the package."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level <= 1, f"{path.name} reaches outside the keys package"
            if node.level == 0 and node.module:
                names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(KEYS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_keys_package_uses_only_stdlib_cryptography_and_joserfc(path: Path) -> None:
    allowed = set(sys.stdlib_module_names) | {"cryptography", "joserfc", "__future__"}
    roots = {name.split(".")[0] for name in _absolute_imports(path)}
    assert roots <= allowed, roots - allowed
