"""An attacker's suite for promptify.identity.tokens (docs/security.md, "The checks, in order").

Malicious tokens are built by hand (base64url of crafted bytes, signed with `cryptography` where a
valid signature matters); good tokens come from joserfc's `jwt.encode`. Every refusal must be an
ApiError with the exact 401 code, never another exception. The `TestJoserfcTraps` class pins
each lax joserfc default that one of our guards exists for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jws, jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from promptify.identity import tokens
from promptify.identity.errors import ApiError
from promptify.identity.keys import PublicKeyInfo, StoredKey, usable_keys
from promptify.identity.tokens import CHECK_NAMES, inspect_jwt, verify_jwt

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
T = int(NOW.timestamp())
APP_ID = "app_AAAAAAAAAAAAAAAAAAAA"
OTHER_APP_ID = "app_BBBBBBBBBBBBBBBBBBBB"

PrivateKey = Any  # one of cryptography's Ed25519/Ed448/EC/RSA private keys

# Generated once per module, so the repository holds no private key files.
ED = ed25519.Ed25519PrivateKey.generate()
ED_OTHER = ed25519.Ed25519PrivateKey.generate()
ED448 = ed448.Ed448PrivateKey.generate()
P256 = ec.generate_private_key(ec.SECP256R1())
RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)

ALGS_BY_TYPE = {"Ed25519": ("EdDSA", "Ed25519"), "P-256": ("ES256",), "RSA": ("PS256", "RS256")}


# --- builders ------------------------------------------------------------------------------


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def spki_pem(private_key: PrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def joserfc_key(key: Any) -> Key:
    """A joserfc key for a cryptography private or public key object."""
    okp = (
        ed25519.Ed25519PrivateKey,
        ed25519.Ed25519PublicKey,
        ed448.Ed448PrivateKey,
        ed448.Ed448PublicKey,
    )
    if isinstance(key, okp):
        return OKPKey.import_key(key)
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return ECKey.import_key(key)
    return RSAKey.import_key(key)


def key_info(
    private_key: PrivateKey, key_type: str | None = None, **overrides: Any
) -> PublicKeyInfo:
    """The workspace key for `private_key`; `key_type` may lie (the Ed448 test)."""
    if key_type is None:
        if isinstance(private_key, ed25519.Ed25519PrivateKey):
            key_type = "Ed25519"
        else:
            key_type = "P-256" if isinstance(private_key, ec.EllipticCurvePrivateKey) else "RSA"
    fields: dict[str, Any] = {
        "key_type": key_type,
        "algorithms": ALGS_BY_TYPE[key_type],
        "thumbprint": joserfc_key(private_key.public_key()).thumbprint(),
        "spki_pem": spki_pem(private_key),
        "bits": 256,
    }
    fields.update(overrides)
    return PublicKeyInfo(**fields)


ED_KEY = key_info(ED)
ED_OTHER_KEY = key_info(ED_OTHER)
P256_KEY = key_info(P256)
RSA_KEY = key_info(RSA)
ALL_KEYS = [ED_KEY, P256_KEY, RSA_KEY]


def raw_sign(alg: str, private_key: PrivateKey, signing_input: bytes) -> bytes:
    """The JWS signature bytes, computed with cryptography (not joserfc)."""
    if alg in ("EdDSA", "Ed25519", "Ed448"):
        return private_key.sign(signing_input)
    if alg == "ES256":
        r, s = decode_dss_signature(private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "PS256":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return private_key.sign(signing_input, pss, hashes.SHA256())
    return private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


def segment(part: Any) -> str:
    """bytes are taken as is, str as UTF-8 text, anything else as compact JSON."""
    if isinstance(part, bytes):
        return b64u(part)
    if isinstance(part, str):
        return b64u(part.encode("utf-8"))
    return b64u(json.dumps(part, separators=(",", ":")).encode("utf-8"))


def forge(
    header: Any,
    payload: Any,
    private_key: PrivateKey | None = ED,
    alg: str = "EdDSA",
    signature: bytes | None = None,
) -> str:
    """A hand-made compact JWS; signed with `private_key` unless `signature` is given."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    if signature is None:
        signature = raw_sign(alg, private_key, signing_input.encode("ascii"))
    return f"{signing_input}.{b64u(signature)}"


def claims(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "user-123", "exp": T + 300}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not _ABSENT}


_ABSENT = object()


def good(
    alg: str, private_key: PrivateKey, payload: dict[str, Any] | None = None, **header: Any
) -> str:
    """A token as a customer's joserfc would sign it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # joserfc warns on signing with "EdDSA"
        return jwt.encode(
            {"alg": alg, **header}, payload or claims(), joserfc_key(private_key), algorithms=[alg]
        )


def verify(token: Any, keys: list[Any] | None = None, **kwargs: Any) -> tokens.VerifiedToken:
    return verify_jwt(token, ALL_KEYS if keys is None else keys, app_id=APP_ID, now=NOW, **kwargs)


def refused(token: Any, keys: list[Any] | None = None, **kwargs: Any) -> ApiError:
    """verify_jwt must raise ApiError with a 401 code (pytest.raises rejects other types)."""
    with pytest.raises(ApiError) as info:
        verify(token, keys, **kwargs)
    assert info.value.status == 401
    assert info.value.message
    return info.value


# --- attacks, one row each: (id, token builder, keys or None for ALL_KEYS, expected code) -----


def _hs256_with_public_pem() -> str:
    signing_input = f"{segment({'alg': 'HS256'})}.{segment(claims())}".encode("ascii")
    mac = hmac.new(RSA_KEY.spki_pem.encode(), signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode()}.{b64u(mac)}"


def _der_es256() -> str:
    signing_input = f"{segment({'alg': 'ES256'})}.{segment(claims())}".encode("ascii")
    der = P256.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    return f"{signing_input.decode()}.{b64u(der)}"


_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _tampered() -> str:
    header, _payload, signature = good("ES256", P256).split(".")
    return f"{header}.{segment(claims(id='admin'))}.{signature}"


def _truncated() -> str:
    header, payload, signature = good("EdDSA", ED).split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    return f"{header}.{payload}.{b64u(raw[:-1])}"


def _b64_false() -> str:
    header = {"alg": "EdDSA", "b64": False, "crit": ["b64"]}
    raw_payload = json.dumps(claims(), separators=(",", ":"))
    signing_input = f"{segment(header)}.{raw_payload}".encode()
    return f"{signing_input.decode()}.{b64u(ED.sign(signing_input))}"


def _payload_text(text: str) -> Callable[[], str]:
    return lambda: forge({"alg": "EdDSA"}, text)


ATTACKS: list[tuple[str, Callable[[], str], list[Any] | None, str]] = [
    (
        "alg-none",
        lambda: forge({"alg": "none"}, claims(), signature=b""),
        None,
        "jwt_unsupported_alg",
    ),
    (
        "alg-None",
        lambda: forge({"alg": "None"}, claims(), signature=b""),
        None,
        "jwt_unsupported_alg",
    ),
    (
        "alg-NONE",
        lambda: forge({"alg": "NONE"}, claims(), signature=b""),
        None,
        "jwt_unsupported_alg",
    ),
    (
        "alg-nOnE-junk-sig",
        lambda: forge({"alg": "nOnE"}, claims(), signature=b"x"),
        None,
        "jwt_unsupported_alg",
    ),
    ("hs256-public-pem-secret", _hs256_with_public_pem, [RSA_KEY], "jwt_unsupported_alg"),
    (
        "hs512",
        lambda: forge({"alg": "HS512"}, claims(), signature=b"\0" * 64),
        None,
        "jwt_unsupported_alg",
    ),
    (
        "alg-ES512",
        lambda: forge({"alg": "ES512"}, claims(), signature=b"\0" * 132),
        None,
        "jwt_unsupported_alg",
    ),
    (
        "alg-PS512",
        lambda: forge({"alg": "PS512"}, claims(), RSA, "PS256"),
        None,
        "jwt_unsupported_alg",
    ),
    (
        "alg-Ed448",
        lambda: forge({"alg": "Ed448"}, claims(), ED448, "Ed448"),
        None,
        "jwt_unsupported_alg",
    ),
    ("alg-int", lambda: forge({"alg": 256}, claims(), signature=b"x"), None, "jwt_unsupported_alg"),
    ("alg-list", lambda: forge({"alg": ["EdDSA"]}, claims()), None, "jwt_unsupported_alg"),
    ("alg-missing", lambda: forge({"typ": "JWT"}, claims()), None, "jwt_unsupported_alg"),
    ("es256-der-signature", _der_es256, None, "jwt_bad_signature"),
    (
        "es256-r-s-zero",
        lambda: forge({"alg": "ES256"}, claims(), signature=b"\0" * 64),
        None,
        "jwt_bad_signature",
    ),
    (
        "es256-r-s-n",
        lambda: forge({"alg": "ES256"}, claims(), signature=_P256_N.to_bytes(32, "big") * 2),
        None,
        "jwt_bad_signature",
    ),
    (
        "empty-signature",
        lambda: forge({"alg": "ES256"}, claims(), signature=b""),
        None,
        "jwt_bad_signature",
    ),
    ("wrong-key", lambda: good("EdDSA", ED_OTHER), None, "jwt_bad_signature"),
    ("tampered-payload", _tampered, None, "jwt_bad_signature"),
    ("truncated-signature", _truncated, None, "jwt_bad_signature"),
    (
        "rsa-key-signed-by-other-alg-key",
        lambda: forge({"alg": "RS256"}, claims(), RSA, "PS256"),
        None,
        "jwt_bad_signature",
    ),
    ("expired", lambda: good("EdDSA", ED, claims(exp=T - 3600)), None, "jwt_expired"),
    ("missing-exp", lambda: good("EdDSA", ED, claims(exp=_ABSENT)), None, "jwt_missing_exp"),
    ("exp-null", lambda: forge({"alg": "EdDSA"}, claims(exp=None)), None, "jwt_missing_exp"),
    ("future-nbf", lambda: good("ES256", P256, claims(nbf=T + 120)), None, "jwt_not_yet_valid"),
    ("future-iat", lambda: good("ES256", P256, claims(iat=T + 120)), None, "jwt_not_yet_valid"),
    (
        "crit-exp",
        lambda: forge({"alg": "EdDSA", "crit": ["exp"], "exp": 1}, claims()),
        None,
        "jwt_malformed",
    ),
    ("crit-empty", lambda: forge({"alg": "EdDSA", "crit": []}, claims()), None, "jwt_malformed"),
    ("crit-alg", lambda: forge({"alg": "EdDSA", "crit": ["alg"]}, claims()), None, "jwt_malformed"),
    ("b64-false-crit", _b64_false, None, "jwt_malformed"),
    ("b64-true", lambda: forge({"alg": "EdDSA", "b64": True}, claims()), None, "jwt_malformed"),
    (
        "embedded-jwk",
        lambda: forge(
            {"alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64u(b"\0" * 32)}},
            claims(),
        ),
        None,
        "jwt_malformed",
    ),
    (
        "jku",
        lambda: forge({"alg": "EdDSA", "jku": "https://evil.example/jwks"}, claims()),
        None,
        "jwt_malformed",
    ),
    (
        "x5u",
        lambda: forge({"alg": "EdDSA", "x5u": "https://evil.example/c.pem"}, claims()),
        None,
        "jwt_malformed",
    ),
    ("x5c", lambda: forge({"alg": "EdDSA", "x5c": ["MIIB"]}, claims()), None, "jwt_malformed"),
    ("x5t", lambda: forge({"alg": "EdDSA", "x5t": "abc"}, claims()), None, "jwt_malformed"),
    (
        "x5t-s256",
        lambda: forge({"alg": "EdDSA", "x5t#S256": "abc"}, claims()),
        None,
        "jwt_malformed",
    ),
    ("cty-jwt", lambda: forge({"alg": "EdDSA", "cty": "JWT"}, claims()), None, "jwt_malformed"),
    (
        "typ-at+jwt",
        lambda: forge({"alg": "EdDSA", "typ": "at+jwt"}, claims()),
        None,
        "jwt_malformed",
    ),
    ("typ-not-string", lambda: forge({"alg": "EdDSA", "typ": 1}, claims()), None, "jwt_malformed"),
    ("kid-not-string", lambda: forge({"alg": "EdDSA", "kid": 7}, claims()), None, "jwt_malformed"),
    (
        "duplicate-alg",
        lambda: forge('{"alg":"none","alg":"EdDSA"}', claims()),
        None,
        "jwt_malformed",
    ),
    (
        "duplicate-claim",
        _payload_text(f'{{"id":"alice","exp":{T + 300},"id":"admin"}}'),
        None,
        "jwt_malformed",
    ),
    ("header-array", lambda: forge(["alg"], claims(), signature=b"x"), None, "jwt_malformed"),
    ("header-string", lambda: forge("xalgx", claims(), signature=b"x"), None, "jwt_malformed"),
    (
        "header-json-string",
        lambda: forge('"EdDSA"', claims(), signature=b"x"),
        None,
        "jwt_malformed",
    ),
    (
        "header-not-json",
        lambda: forge("{alg:EdDSA}", claims(), signature=b"x"),
        None,
        "jwt_malformed",
    ),
    ("header-bom", lambda: forge(b'\xef\xbb\xbf{"alg":"EdDSA"}', claims()), None, "jwt_malformed"),
    (
        "payload-utf16",
        lambda: forge({"alg": "EdDSA"}, json.dumps(claims()).encode("utf-16")),
        None,
        "jwt_malformed",
    ),
    (
        "payload-bom",
        lambda: forge({"alg": "EdDSA"}, b"\xef\xbb\xbf" + json.dumps(claims()).encode()),
        None,
        "jwt_malformed",
    ),
    (
        "payload-latin1",
        lambda: forge({"alg": "EdDSA"}, b'{"id":"\xe9","exp":1}'),
        None,
        "jwt_malformed",
    ),
    (
        "payload-lone-surrogate",
        _payload_text(f'{{"id":"\\ud800","exp":{T + 300}}}'),
        None,
        "jwt_malformed",
    ),
    ("payload-array", lambda: forge({"alg": "EdDSA"}, [claims()]), None, "jwt_malformed"),
    ("payload-empty", lambda: forge({"alg": "EdDSA"}, b""), None, "jwt_malformed"),
    (
        "payload-deeply-nested",
        _payload_text('{"exp":1,"a":' + "[" * 5_000 + "]" * 5_000 + "}"),
        None,
        "jwt_malformed",
    ),
    ("exp-NaN", _payload_text('{"id":"u","exp":NaN}'), None, "jwt_malformed"),
    ("exp-Infinity", _payload_text('{"id":"u","exp":Infinity}'), None, "jwt_malformed"),
    ("exp-1e400", _payload_text('{"id":"u","exp":1e400}'), None, "jwt_invalid_claims"),
    (
        "exp-10e400-int",
        _payload_text('{"id":"u","exp":1' + "0" * 400 + "}"),
        None,
        "jwt_invalid_claims",
    ),
    (
        "nbf-10e400-int",
        _payload_text(f'{{"id":"u","exp":{T + 60},"nbf":1' + "0" * 400 + "}"),
        None,
        "jwt_not_yet_valid",
    ),
    ("exp-bool", lambda: good("EdDSA", ED, claims(exp=True)), None, "jwt_invalid_claims"),
    ("exp-string", lambda: good("EdDSA", ED, claims(exp=str(T + 300))), None, "jwt_invalid_claims"),
    (
        "exp-list",
        lambda: forge({"alg": "EdDSA"}, claims(exp=[T + 300])),
        None,
        "jwt_invalid_claims",
    ),
    (
        "exp-too-far",
        lambda: good("EdDSA", ED, claims(exp=T + 86400 * 30)),
        None,
        "jwt_invalid_claims",
    ),
    (
        "exp-milliseconds",
        lambda: good("EdDSA", ED, claims(exp=(T + 300) * 1000)),
        None,
        "jwt_invalid_claims",
    ),
    ("exp-huge-int", lambda: good("EdDSA", ED, claims(exp=10**40)), None, "jwt_invalid_claims"),
    ("nbf-bool", lambda: good("EdDSA", ED, claims(nbf=False)), None, "jwt_invalid_claims"),
    ("nbf-null", lambda: forge({"alg": "EdDSA"}, claims(nbf=None)), None, "jwt_invalid_claims"),
    ("nbf-huge-int", lambda: good("EdDSA", ED, claims(nbf=10**40)), None, "jwt_not_yet_valid"),
    ("iat-string", lambda: good("EdDSA", ED, claims(iat="now")), None, "jwt_invalid_claims"),
    (
        "aud-other-app",
        lambda: good("EdDSA", ED, claims(aud=OTHER_APP_ID)),
        None,
        "jwt_invalid_claims",
    ),
    (
        "aud-list-without-ours",
        lambda: good("EdDSA", ED, claims(aud=[OTHER_APP_ID])),
        None,
        "jwt_invalid_claims",
    ),
    (
        "aud-list-with-non-string",
        lambda: good("EdDSA", ED, claims(aud=[APP_ID, 1])),
        None,
        "jwt_invalid_claims",
    ),
    ("aud-null", lambda: forge({"alg": "EdDSA"}, claims(aud=None)), None, "jwt_invalid_claims"),
    ("aud-prefix", lambda: good("EdDSA", ED, claims(aud=APP_ID[:-1])), None, "jwt_invalid_claims"),
    ("jti-empty", lambda: good("EdDSA", ED, claims(jti="")), None, "jwt_invalid_claims"),
    ("jti-too-long", lambda: good("EdDSA", ED, claims(jti="j" * 256)), None, "jwt_invalid_claims"),
    ("jti-int", lambda: good("EdDSA", ED, claims(jti=123)), None, "jwt_invalid_claims"),
    ("jti-null", lambda: forge({"alg": "EdDSA"}, claims(jti=None)), None, "jwt_invalid_claims"),
    ("iss-int", lambda: good("EdDSA", ED, claims(iss=1)), None, "jwt_invalid_claims"),
    ("sub-object", lambda: good("EdDSA", ED, claims(sub={"id": 1})), None, "jwt_invalid_claims"),
    ("oversized", lambda: good("EdDSA", ED, claims(pad="x" * 50_000)), None, "jwt_malformed"),
    (
        "oversized-header",
        lambda: forge({"alg": "EdDSA", "kid": "k" * 1000}, claims()),
        None,
        "jwt_malformed",
    ),
    (
        "oversized-signature",
        lambda: forge({"alg": "RS256"}, claims(), signature=b"\1" * 1100),
        None,
        "jwt_malformed",
    ),
    (
        "eddsa-on-ed448-key",
        lambda: forge({"alg": "EdDSA"}, claims(), ED448, "Ed448"),
        [key_info(ED448, "Ed25519")],
        "jwt_bad_signature",
    ),
    (
        "ed25519-on-ed448-key",
        lambda: forge({"alg": "Ed25519"}, claims(), ED448, "Ed448"),
        [key_info(ED448, "Ed25519")],
        "jwt_bad_signature",
    ),
    ("rs256-against-p256-key", lambda: good("RS256", RSA), [P256_KEY], "jwt_no_matching_key"),
    ("eddsa-without-keys", lambda: good("EdDSA", ED), [], "jwt_no_matching_key"),
    (
        "es256-key-lying-about-type",
        lambda: good("ES256", P256),
        [key_info(P256, "P-256", spki_pem=RSA_KEY.spki_pem)],
        "jwt_bad_signature",
    ),
    (
        "private-key-pem-as-key",
        lambda: good("EdDSA", ED),
        [
            key_info(
                ED,
                spki_pem=ED.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode(),
            )
        ],
        "jwt_bad_signature",
    ),
    ("jwe-five-parts", lambda: "eyJhbGciOiJkaXIifQ..aXY.Y3Q.dGFn", None, "jwt_malformed"),
    (
        "json-serialization",
        lambda: json.dumps({"payload": "e30", "signatures": []}),
        None,
        "jwt_malformed",
    ),
    ("two-parts", lambda: "eyJhbGciOiJFZERTQSJ9.e30", None, "jwt_malformed"),
    ("empty", lambda: "", None, "jwt_malformed"),
    ("padding", lambda: good("EdDSA", ED) + "==", None, "jwt_malformed"),
    (
        "standard-base64",
        lambda: good("EdDSA", ED).replace("-", "+").replace("_", "/") + "+/",
        None,
        "jwt_malformed",
    ),
    ("whitespace", lambda: " " + good("EdDSA", ED), None, "jwt_malformed"),
    ("non-ascii", lambda: good("EdDSA", ED) + "é", None, "jwt_malformed"),
]


@pytest.mark.parametrize(
    ("build", "keys", "code"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_attack_is_refused_with_its_code(
    build: Callable[[], str], keys: list[Any] | None, code: str
) -> None:
    assert refused(build(), keys).code == code


@pytest.mark.parametrize(
    ("build", "keys", "code"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_attack_refusal_is_never_the_generic_fallback(
    build: Callable[[], str], keys: list[Any] | None, code: str
) -> None:
    """Every attack above is caught by a rule with its own message, not the catch-all."""
    assert "check; sign a standard compact JWT" not in refused(build(), keys).message


@pytest.mark.parametrize("token", [None, 123, b"a.b.c", ["a", "b", "c"], {"jwt": "x"}])
def test_non_string_token_is_malformed(token: Any) -> None:
    assert refused(token).code == "jwt_malformed"


def test_refusal_carries_header_and_claims_but_never_the_signature() -> None:
    token = good("EdDSA", ED_OTHER, claims(email="a@b.c"), kid="some-kid")
    error = refused(token, [ED_KEY])
    assert error.code == "jwt_bad_signature"
    assert error.token_header == {"typ": "JWT", "alg": "EdDSA", "kid": "some-kid"}
    assert error.token_claims == claims(email="a@b.c")
    signature = token.rsplit(".", 1)[1]
    assert signature not in repr((error.token_header, error.token_claims, error.message))
    assert ED_KEY.thumbprint in error.message


def test_undecodable_header_attaches_nothing() -> None:
    error = refused(forge(["alg"], claims(), signature=b"x"))
    assert error.token_header is None


def test_claims_refusal_attaches_verified_claims() -> None:
    error = refused(good("ES256", P256, claims(exp=T - 100)))
    assert error.token_claims == claims(exp=T - 100)
    assert error.token_header == {"typ": "JWT", "alg": "ES256"}


# --- accepted tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "private_key"),
    [("EdDSA", ED), ("Ed25519", ED), ("ES256", P256), ("PS256", RSA), ("RS256", RSA)],
)
def test_each_supported_algorithm_is_accepted(alg: str, private_key: PrivateKey) -> None:
    payload = claims(jti="one-time", aud=APP_ID, iat=T - 5, nbf=T - 5, iss="acme", sub="u")
    result = verify(good(alg, private_key, payload))
    assert result.claims == payload
    assert result.header["alg"] == alg
    assert result.key_thumbprint == key_info(private_key).thumbprint
    assert result.jti == "one-time"
    assert result.expires_at == NOW + timedelta(seconds=300)


def test_hand_signed_eddsa_without_typ_is_accepted() -> None:
    result = verify(forge({"alg": "EdDSA"}, claims()))
    assert result.header == {"alg": "EdDSA"} and result.jti is None


@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt", "Application/JWT"])
def test_typ_jwt_is_accepted(typ: str) -> None:
    assert verify(forge({"alg": "EdDSA", "typ": typ}, claims())).header["typ"] == typ


def test_unknown_header_names_are_ignored() -> None:
    """RFC 7515 §4: unknown header parameters are ignored unless listed in crit."""
    assert verify(forge({"alg": "EdDSA", "ver": 2}, claims())).claims["id"] == "user-123"


def test_aud_list_with_our_app_id_is_accepted() -> None:
    assert verify(good("EdDSA", ED, claims(aud=[OTHER_APP_ID, APP_ID]))).claims["aud"][1] == APP_ID


def test_float_exp_and_255_char_jti_are_accepted() -> None:
    result = verify(good("EdDSA", ED, claims(exp=T + 60.5, jti="j" * 255)))
    assert result.expires_at == NOW + timedelta(seconds=60.5)
    assert result.jti == "j" * 255


def test_retired_but_usable_second_key_verifies() -> None:
    created = NOW - timedelta(days=30)
    old = StoredKey(
        ED_OTHER_KEY.thumbprint,
        "Ed25519",
        ("EdDSA", "Ed25519"),
        ED_OTHER_KEY.spki_pem,
        created,
        NOW - timedelta(hours=1),
        None,
    )
    current = StoredKey(
        ED_KEY.thumbprint,
        "Ed25519",
        ("EdDSA", "Ed25519"),
        ED_KEY.spki_pem,
        NOW - timedelta(hours=1),
        None,
        None,
    )
    keys = usable_keys([old, current], NOW, timedelta(hours=2))
    assert [k.thumbprint for k in keys] == [current.thumbprint, old.thumbprint]
    assert verify(good("EdDSA", ED_OTHER), keys).key_thumbprint == old.thumbprint
    assert verify(good("EdDSA", ED), keys).key_thumbprint == current.thumbprint


def test_kid_naming_another_key_still_verifies_by_trying_all() -> None:
    token = good("EdDSA", ED_OTHER, kid=ED_KEY.thumbprint)
    assert verify(token, [ED_KEY, ED_OTHER_KEY]).key_thumbprint == ED_OTHER_KEY.thumbprint


@pytest.mark.parametrize("kid", ["unknown", "", "../../../../dev/null", "' OR 1=1 --"])
def test_unknown_kid_is_not_an_error(kid: str) -> None:
    assert (
        verify(good("EdDSA", ED, kid=kid), [ED_OTHER_KEY, ED_KEY]).key_thumbprint
        == ED_KEY.thumbprint
    )


def test_matching_kid_is_tried_first(monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[str] = []
    real = tokens.import_public_key

    def spy(key: Any) -> Key:
        tried.append(key.thumbprint)
        return real(key)

    monkeypatch.setattr("promptify.identity.tokens.verify.import_public_key", spy)
    token = good("EdDSA", ED_OTHER, kid=ED_OTHER_KEY.thumbprint)
    assert verify(token, [ED_KEY, ED_OTHER_KEY]).key_thumbprint == ED_OTHER_KEY.thumbprint
    assert tried == [ED_OTHER_KEY.thumbprint]


def test_each_key_only_with_its_own_algorithms() -> None:
    """An RSA key stored for PS256 only does not accept RS256."""
    ps_only = key_info(RSA, algorithms=("PS256",))
    assert verify(good("PS256", RSA), [ps_only]).key_thumbprint == ps_only.thumbprint
    assert refused(good("RS256", RSA), [ps_only]).code == "jwt_no_matching_key"


def test_rsa_8192_signature_length_passes_the_size_limits() -> None:
    """joserfc's default 1024-character cap would refuse RSA-8192 signatures.

    A 1024-byte signature (1366 base64url chars) must reach the signature check: it fails there,
    not as jwt_malformed. (Generating an RSA-8192 key takes seconds, so none is made here.)
    """
    token = forge({"alg": "RS256"}, claims(), signature=b"\1" * 1024)
    assert len(token.rsplit(".", 1)[1]) == 1366
    assert refused(token, [RSA_KEY]).code == "jwt_bad_signature"
    assert refused(token + "AAAA", [RSA_KEY]).code == "jwt_malformed"


# --- time boundaries (literal datetimes, leeway 30 s, lifetime 86400 s) ------------------------


@pytest.mark.parametrize(
    ("claim", "offset", "code"),
    [
        ("exp", -29, None),
        ("exp", -30, "jwt_expired"),
        ("exp", -31, "jwt_expired"),
        ("exp", 86400 + 30, None),
        ("exp", 86400 + 31, "jwt_invalid_claims"),
        ("nbf", 30, None),
        ("nbf", 31, "jwt_not_yet_valid"),
        ("nbf", -(10**9), None),
        ("iat", 30, None),
        ("iat", 31, "jwt_not_yet_valid"),
        ("iat", -(10**9), None),
        ("iat", -(10**400), None),
    ],
)
def test_time_boundaries(claim: str, offset: int, code: str | None) -> None:
    now = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    payload = {"id": "u", "exp": 1748779200 + 60, claim: 1748779200 + offset}
    assert now.timestamp() == 1748779200
    token = good("EdDSA", ED, payload)
    if code is None:
        assert verify_jwt(token, [ED_KEY], app_id=APP_ID, now=now).claims == payload
    else:
        with pytest.raises(ApiError) as info:
            verify_jwt(token, [ED_KEY], app_id=APP_ID, now=now)
        assert info.value.code == code


def test_leeway_and_lifetime_are_parameters() -> None:
    token = good("EdDSA", ED, claims(exp=T - 50))
    assert verify(token, leeway=60).claims["exp"] == T - 50
    assert (
        refused(good("EdDSA", ED, claims(exp=T + 600)), max_lifetime=300).code
        == "jwt_invalid_claims"
    )


def test_naive_now_is_taken_as_utc() -> None:
    naive = datetime(2025, 6, 1, 12, 0, 0)
    assert verify_jwt(good("EdDSA", ED), [ED_KEY], app_id=APP_ID, now=naive).jti is None


# --- messages tell the developer what to change --------------------------------------------


@pytest.mark.parametrize(
    ("token", "keys", "needle"),
    [
        (lambda: good("EdDSA", ED, claims(exp=_ABSENT)), None, 'setExpirationTime("5m")'),
        (lambda: good("EdDSA", ED, claims(exp=T + 86400 * 2)), None, 'setExpirationTime("5m")'),
        (lambda: good("EdDSA", ED, claims(aud=OTHER_APP_ID)), None, APP_ID),
        (lambda: forge({"alg": "HS256"}, claims(), signature=b"x"), None, "EdDSA, Ed25519, ES256"),
        (lambda: good("RS256", RSA), [P256_KEY], "P-256 (ES256)"),
        (lambda: forge({"alg": "EdDSA", "jwk": {}}, claims()), None, "Remove the 'jwk' header"),
        (lambda: forge({"alg": "EdDSA", "typ": "at+jwt"}, claims()), None, '"JWT"'),
        (lambda: forge('{"alg":"EdDSA","alg":"EdDSA"}', claims()), None, "'alg' appears more"),
    ],
)
def test_messages_name_the_fix(
    token: Callable[[], str], keys: list[Any] | None, needle: str
) -> None:
    assert needle in refused(token(), keys).message


# --- each lax joserfc default that a guard exists for -----------------------------------------


class TestJoserfcTraps:
    def test_jwt_decode_checks_no_claims(self) -> None:
        """jwt.decode returns an expired token without exp-less complaint."""
        token = good("ES256", P256, claims(exp=T - 3600))
        assert jwt.decode(token, joserfc_key(P256.public_key()), algorithms=["ES256"]).claims
        assert refused(token).code == "jwt_expired"
        no_exp = good("ES256", P256, claims(exp=_ABSENT))
        assert jwt.decode(no_exp, joserfc_key(P256.public_key()), algorithms=["ES256"]).claims
        assert refused(no_exp).code == "jwt_missing_exp"

    def test_registry_overrides_algorithms(self) -> None:
        """algorithms=["PS256"] is ignored once registry= is given."""
        token = good("RS256", RSA)
        public = joserfc_key(RSA.public_key())
        jws.deserialize_compact(token, public, algorithms=["PS256"], registry=JWSRegistry())
        with pytest.raises(JoseError):
            jws.deserialize_compact(token, public, registry=tokens.jws_registry("PS256"))

    def test_eddsa_warning_is_not_emitted(self) -> None:
        """Stock "EdDSA" warns (an error under filterwarnings=error); ours does not."""
        token = good("EdDSA", ED)
        with pytest.warns(SecurityWarning, match="EdDSA is deprecated"):
            jws.deserialize_compact(token, joserfc_key(ED.public_key()), algorithms=["EdDSA"])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert verify(token).header["alg"] == "EdDSA"

    def test_stock_eddsa_accepts_ed448_ours_does_not(self) -> None:
        """The stock "EdDSA" verifies Ed448; the model we register refuses the key."""
        token = forge({"alg": "EdDSA"}, claims(), ED448, "Ed448")
        ed448_public = joserfc_key(ED448.public_key())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)
            jws.deserialize_compact(token, ed448_public, algorithms=["EdDSA"])
        with pytest.raises(JoseError):
            tokens.SIGNATURE_ALGORITHMS["EdDSA"].check_key(ed448_public)
        with pytest.raises(JoseError):
            tokens.SIGNATURE_ALGORITHMS["EdDSA"].verify(b"m", ED448.sign(b"m"), ed448_public)
        with pytest.raises(JoseError):
            jws.deserialize_compact(token, ed448_public, registry=tokens.jws_registry("EdDSA"))

    def test_b64_false_is_accepted_by_stock_joserfc(self) -> None:
        """Stock jwt.decode parses the raw payload of b64:false + crit:["b64"]."""
        token = _b64_false()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)
            decoded = jwt.decode(token, joserfc_key(ED.public_key()), algorithms=["EdDSA"])
        assert decoded.claims["id"] == "user-123"
        assert refused(token).code == "jwt_malformed"
        with pytest.raises(JoseError):
            jws.deserialize_compact(
                token, joserfc_key(ED.public_key()), registry=tokens.jws_registry("EdDSA")
            )

    @pytest.mark.parametrize(
        "header", [{"alg": "EdDSA", "crit": []}, {"alg": "EdDSA", "crit": ["alg"]}]
    )
    def test_crit_is_refused_inside_our_registry_too(self, header: dict[str, Any]) -> None:
        """Stock joserfc accepts crit [] and crit of registered names."""
        token = forge(header, claims())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)
            jws.deserialize_compact(token, joserfc_key(ED.public_key()), algorithms=["EdDSA"])
        with pytest.raises(JoseError):
            jws.deserialize_compact(
                token, joserfc_key(ED.public_key()), registry=tokens.jws_registry("EdDSA")
            )

    @pytest.mark.parametrize("header", ['["alg"]', '"xalgx"'])
    def test_non_object_header_raises_type_error_in_joserfc(self, header: str) -> None:
        """A bare TypeError (a 500 if only JoseError is caught); ours is jwt_malformed."""
        token = forge(header, claims(), signature=b"x")
        with pytest.raises(TypeError):
            jws.deserialize_compact(token, joserfc_key(ED.public_key()), algorithms=["EdDSA"])
        assert refused(token).code == "jwt_malformed"

    def test_duplicate_members_last_wins_in_joserfc(self) -> None:
        """joserfc resolves {"sub":"alice","sub":"admin"} to admin; we refuse."""
        token = forge(
            {"alg": "ES256"}, f'{{"sub":"alice","exp":{T + 60},"sub":"admin"}}', P256, "ES256"
        )
        assert (
            jwt.decode(token, joserfc_key(P256.public_key()), algorithms=["ES256"]).claims["sub"]
            == "admin"
        )
        assert refused(token).code == "jwt_malformed"

    def test_joserfc_key_import_is_permissive(self) -> None:
        """joserfc imports a private-key PEM as a verification key; our import refuses."""
        private_pem = ED.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        assert OKPKey.import_key(private_pem).thumbprint() == ED_KEY.thumbprint
        lying = key_info(ED, spki_pem=private_pem.decode())
        with pytest.raises(ValueError):
            tokens.import_public_key(lying)
        assert refused(good("EdDSA", ED), [lying]).code == "jwt_bad_signature"


# --- the token tester ----------------------------------------------------------------------------


def _verdicts(token: str, keys: list[Any] | None = None) -> dict[str, tokens.CheckStep]:
    steps = inspect_jwt(token, ALL_KEYS if keys is None else keys, app_id=APP_ID, now=NOW)
    assert [s.name for s in steps] == list(CHECK_NAMES)
    return {s.name: s for s in steps}


def test_inspect_good_token_passes_every_check() -> None:
    steps = _verdicts(good("ES256", P256, claims(jti="abc")))
    assert all(step.passed is True and step.message for step in steps.values())
    assert P256_KEY.thumbprint in steps["signature"].message


def test_inspect_expired_token() -> None:
    steps = list(_verdicts(good("EdDSA", ED, claims(exp=T - 3600))).values())
    index = CHECK_NAMES.index("exp")
    assert all(s.passed is True for s in steps[:index])
    assert (steps[index].passed, steps[index].code) == (False, "jwt_expired")
    assert all(s.passed is None for s in steps[index + 1 :])


def test_inspect_wrong_key() -> None:
    steps = _verdicts(good("EdDSA", ED_OTHER))
    assert (steps["key"].passed, steps["signature"].passed) == (True, False)
    assert steps["signature"].code == "jwt_bad_signature"
    assert steps["exp"].passed is None and steps["jti"].passed is None


@pytest.mark.parametrize(
    ("build", "keys", "code"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_inspect_agrees_with_verify(
    build: Callable[[], str], keys: list[Any] | None, code: str
) -> None:
    failed = [s for s in _verdicts(build(), keys).values() if s.passed is False]
    assert [s.code for s in failed] == [code]


# --- property: nothing but ApiError(401) ever leaves verify_jwt -------------------------

_ALGS = st.sampled_from(["EdDSA", "Ed25519", "ES256", "RS256", "PS256", "none", "HS256", "ES512"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_TIMES = st.integers(T - 100_000, T + 200_000) | st.floats(allow_nan=True) | _JSON
_HEADERS = (
    st.fixed_dictionaries(
        {"alg": _ALGS | _JSON},
        optional={
            k: _JSON | st.text(max_size=8) for k in ("typ", "kid", "crit", "b64", "jwk", "x")
        },
    )
    | _JSON
)
_CLAIMS = (
    st.fixed_dictionaries(
        {},
        optional={
            "exp": _TIMES,
            "nbf": _TIMES,
            "iat": _TIMES,
            "aud": st.just(APP_ID) | _JSON,
            "jti": st.text(max_size=300) | _JSON,
            "iss": _JSON,
            "sub": _JSON,
            "id": _JSON,
        },
    )
    | _JSON
)
_B64ISH = st.text(alphabet="ABCxyz019-_+/=. é\0", max_size=40)


def _assert_only_401(token: Any) -> None:
    try:
        verify(token)
    except ApiError as error:
        assert error.status == 401
        assert error.code.startswith("jwt_")


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(header=_HEADERS, payload=_CLAIMS, sign=st.booleans())
def test_random_signed_tokens_only_raise_identify_errors(
    header: Any, payload: Any, sign: bool
) -> None:
    text = lambda v: json.dumps(v).encode()  # noqa: E731 - allow_nan: "NaN" must be refused too
    token = forge(text(header), text(payload), ED, "EdDSA", None if sign else b"\1" * 64)
    _assert_only_401(token)


@settings(max_examples=60, deadline=None, database=None)
@given(parts=st.lists(_B64ISH, min_size=0, max_size=6), raw=st.text(max_size=60))
def test_random_strings_only_raise_identify_errors(parts: list[str], raw: str) -> None:
    _assert_only_401(".".join(parts))
    _assert_only_401(raw)
