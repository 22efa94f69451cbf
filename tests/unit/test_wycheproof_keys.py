"""Wycheproof keys through the upload rules (docs/security.md, "Key paste rules").

Vectors: tests/data/wycheproof/ (C2SP/wycheproof testvectors_v1, Apache 2.0, see ATTRIBUTION.md).
Every group key of the Ed25519, ES256 (P1363) and PS256 files must be accepted; the two e=3
groups of the RS256 file and the id-RSASSA-PSS keys of the `_params` file must be refused. The
JWK file's keys are turned into SPKI where that is possible and must meet the same rules
(ROCA tcId 7, RSA-1024 tcId 8 and e=1 tcId 9 refused); pasting any of them as JSON is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from promptify.identity.keys import KeyRejected, ed25519_pub_ok, parse_spki_pem
from tests.der import bit_string, der_int, seq

DATA = Path(__file__).resolve().parent.parent / "data" / "wycheproof"
NEVER_PASTE = "Never paste a private key"


def load_groups(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["testGroups"]


def group_ids(groups: list[dict[str, Any]]) -> list[str]:
    return [f"group{i}-tc{g['tests'][0]['tcId']}" for i, g in enumerate(groups)]


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def rfc7638(jwk: dict[str, str]) -> str:
    """RFC 7638 §3 by hand, over only the members RFC 7638 §3.2 requires."""
    required = {
        "OKP": ("crv", "kty", "x"),
        "EC": ("crv", "kty", "x", "y"),
        "RSA": ("e", "kty", "n"),
    }
    members = {name: jwk[name] for name in required[jwk["kty"]]}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode("ascii")
    return b64u(hashlib.sha256(canonical).digest())


def der_of(pem: str) -> bytes:
    return base64.b64decode("".join(pem.strip().splitlines()[1:-1]))


def rejection(text: str) -> str:
    with pytest.raises(KeyRejected) as info:
        parse_spki_pem(text)
    return info.value.message


# --------------------------------------------------------------------------------------------
# Signature files: group public keys
# --------------------------------------------------------------------------------------------

ED25519_GROUPS = load_groups("ed25519_test.json")
P256_GROUPS = load_groups("ecdsa_secp256r1_sha256_p1363_test.json")
PS256_GROUPS = load_groups("rsa_pss_2048_sha256_mgf1_32_test.json")
RS256_GROUPS = load_groups("rsa_signature_2048_sha256_test.json")
PSS_OID_GROUPS = load_groups("rsa_pss_2048_sha256_mgf1_32_params_test.json")


def test_vector_files_have_the_expected_shape() -> None:
    assert (len(ED25519_GROUPS), len(P256_GROUPS), len(PS256_GROUPS)) == (78, 112, 1)
    assert [g["publicKey"]["publicExponent"] for g in RS256_GROUPS] == ["010001", "03", "03"]
    assert len(PSS_OID_GROUPS) >= 1


@pytest.mark.parametrize("group", ED25519_GROUPS, ids=group_ids(ED25519_GROUPS))
def test_ed25519_group_key_is_accepted(group: dict[str, Any]) -> None:
    info = parse_spki_pem(group["publicKeyPem"])
    assert (info.key_type, info.algorithms, info.bits) == ("Ed25519", ("EdDSA", "Ed25519"), 255)
    assert der_of(info.spki_pem) == bytes.fromhex(group["publicKeyDer"])
    assert ed25519_pub_ok(bytes.fromhex(group["publicKey"]["pk"]))
    assert info.thumbprint == rfc7638(group["publicKeyJwk"])


@pytest.mark.parametrize("group", P256_GROUPS, ids=group_ids(P256_GROUPS))
def test_p256_group_key_is_accepted(group: dict[str, Any]) -> None:
    info = parse_spki_pem(group["publicKeyPem"])
    assert (info.key_type, info.algorithms, info.bits) == ("P-256", ("ES256",), 256)
    assert der_of(info.spki_pem) == bytes.fromhex(group["publicKeyDer"])
    if "publicKeyJwk" in group:  # absent in the EdgeCase groups
        assert info.thumbprint == rfc7638(group["publicKeyJwk"])


@pytest.mark.parametrize("group", PS256_GROUPS + RS256_GROUPS[:1], ids=["ps256", "rs256-e65537"])
def test_rsa_group_key_with_e_65537_is_accepted(group: dict[str, Any]) -> None:
    info = parse_spki_pem(group["publicKeyPem"])
    assert (info.key_type, info.algorithms, info.bits) == ("RSA", ("PS256", "RS256"), 2048)
    assert der_of(info.spki_pem) == bytes.fromhex(group["publicKeyDer"])
    jwk = group.get("publicKeyJwk") or group["keyJwk"]  # the RS256 file names it keyJwk
    assert info.thumbprint == rfc7638(jwk)


@pytest.mark.parametrize("group", RS256_GROUPS[1:], ids=["rs256-e3-a", "rs256-e3-b"])
def test_rsa_group_key_with_e_3_is_refused(group: dict[str, Any]) -> None:
    # Exponent 3: the only keys of the RS256 file the validator refuses (only 65537 is accepted).
    assert "only 65537 is accepted" in rejection(group["publicKeyPem"])


@pytest.mark.parametrize("group", PSS_OID_GROUPS, ids=group_ids(PSS_OID_GROUPS))
def test_rsa_pss_oid_key_is_refused_as_non_canonical(group: dict[str, Any]) -> None:
    assert "id-RSASSA-PSS" in rejection(group["publicKeyPem"])


# --------------------------------------------------------------------------------------------
# json_web_key_test.json: JWK → SPKI where possible, then the upload rules
# --------------------------------------------------------------------------------------------

OID_RSA_ENCRYPTION = bytes.fromhex("06092a864886f70d010101")
OID_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")
OID_CURVE = {
    "P-256": bytes.fromhex("06082a8648ce3d030107"),
    "P-384": bytes.fromhex("06052b81040022"),
}
OID_ED25519 = bytes.fromhex("06032b6570")
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def jwk_to_spki_pem(jwk: dict[str, str]) -> str | None:
    """Encode the JWK's public part as SPKI without validating it (the upload rules must do that).

    None when no SPKI exists for it: symmetric `oct` keys, or members that don't fit the `kty`.
    """
    kty = jwk.get("kty")
    if kty == "RSA" and {"n", "e"} <= jwk.keys():
        n, e = (int.from_bytes(b64u_decode(jwk[m]), "big") for m in ("n", "e"))
        der = seq(seq(OID_RSA_ENCRYPTION, b"\x05\x00"), bit_string(seq(der_int(n), der_int(e))))
    elif kty == "EC" and jwk.get("crv") in OID_CURVE:
        point = b"\x04" + b64u_decode(jwk["x"]) + b64u_decode(jwk["y"])
        der = seq(seq(OID_EC_PUBLIC_KEY, OID_CURVE[jwk["crv"]]), bit_string(point))
    elif kty == "OKP" and jwk.get("crv") == "Ed25519":
        der = seq(seq(OID_ED25519), bit_string(b64u_decode(jwk["x"])))
    else:
        return None
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def public_part(jwk: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in jwk.items() if name not in PRIVATE_MEMBERS}


def jwk_cases() -> list[tuple[int, int, dict[str, str]]]:
    """(tcId, key index, JWK) for every key of every group, from `public` or else `private`."""
    cases = []
    for group in load_groups("json_web_key_test.json"):
        keyset = group.get("public") or group["private"]
        for tc in group["tests"]:
            cases.extend((tc["tcId"], i, key) for i, key in enumerate(keyset["keys"]))
    return cases


JWK_CASES = jwk_cases()
# What the upload form does with the SPKI form of each JWK. The JWS-level reasons of the
# vectors (mixed keysets, duplicate kid, `alg`/`use` mismatches) can't reach a PEM upload: the
# SPKI carries no alg/use/kid and the admin picks the algorithm on the form.
ACCEPTED = "accepted"
NOT_CONVERTIBLE = "no SPKI form"
EXPECTED_UPLOAD = {
    1: {"oct": NOT_CONVERTIBLE, "EC": ACCEPTED},  # mixed keyset: only the P-256 key is uploadable
    5: {"RSA": ACCEPTED},  # RS256, 2048 bits, e=65537
    6: {"RSA": ACCEPTED},  # same key, use=enc: a JWK-level problem only
    7: {"RSA": "Weak RSA key (ROCA"},  # 2049-bit modulus: passes the size rule, caught by ROCA
    8: {"RSA": "RSA keys must be 2048–8192 bits; this one is 1024 bits"},
    9: {"RSA": "only 65537 is accepted"},  # e=1
    19: {"EC": ACCEPTED},  # alg "ES521" on a P-256 key: the form binds ES256
    20: {"EC": ACCEPTED},  # alg "ES224" on a P-256 key: likewise
    21: {"EC": ACCEPTED},  # use=enc: likewise
    22: {"EC": "Malformed or non-canonical key"},  # point not on P-256
    23: {"EC": "Malformed or non-canonical key"},  # crv P-384 with 32-byte coordinates
    24: {"RSA": NOT_CONVERTIBLE},  # kty RSA carrying EC members
}
# tcIds 2-4, 10-18, 25, 26 hold only symmetric `oct` keys: no SPKI form.


def expected_upload(tc_id: int, kty: str) -> str:
    return EXPECTED_UPLOAD.get(tc_id, {}).get(kty, NOT_CONVERTIBLE if kty == "oct" else "missing")


def test_every_jwk_vector_is_covered() -> None:
    assert sorted({tc for tc, _, _ in JWK_CASES}) == list(range(1, 27))
    assert (
        len(PRIVATE_JWKS) == 27
    )  # 25 groups; the keyset and duplicate-kid groups hold two secrets
    assert all(expected_upload(tc, jwk["kty"]) != "missing" for tc, _, jwk in JWK_CASES)


@pytest.mark.parametrize(
    ("tc_id", "jwk"),
    [(tc, jwk) for tc, _, jwk in JWK_CASES],
    ids=[f"tc{tc}-key{i}" for tc, i, _ in JWK_CASES],
)
def test_jwk_vector_key_meets_the_upload_rules(tc_id: int, jwk: dict[str, str]) -> None:
    expected = expected_upload(tc_id, jwk["kty"])
    pem = jwk_to_spki_pem(public_part(jwk))
    if expected == NOT_CONVERTIBLE:
        assert pem is None
    elif expected == ACCEPTED:
        assert pem is not None
        assert parse_spki_pem(pem).thumbprint == rfc7638(jwk)
    else:
        assert pem is not None
        assert expected in rejection(pem)


@pytest.mark.parametrize(
    "jwk", [jwk for _, _, jwk in JWK_CASES], ids=[f"tc{tc}-key{i}" for tc, i, _ in JWK_CASES]
)
def test_public_part_of_jwk_vector_pasted_as_json_is_refused(jwk: dict[str, str]) -> None:
    assert "JWK/JSON keys aren't accepted" in rejection(json.dumps(public_part(jwk)))


def private_jwks() -> list[tuple[str, dict[str, str]]]:
    """Secret keys of the `private` keysets (tcId 1's keyset also holds a public EC key)."""
    groups = load_groups("json_web_key_test.json")
    return [
        (f"tc{g['tests'][0]['tcId']}-key{i}", key)
        for g in groups
        for i, key in enumerate(g["private"]["keys"])
        if key.keys() & PRIVATE_MEMBERS
    ]


PRIVATE_JWKS = private_jwks()


@pytest.mark.parametrize("jwk", [k for _, k in PRIVATE_JWKS], ids=[i for i, _ in PRIVATE_JWKS])
def test_private_jwk_vector_pasted_as_json_is_refused_as_a_private_key(jwk: dict[str, str]) -> None:
    assert NEVER_PASTE in rejection(json.dumps(jwk))
    assert NEVER_PASTE in rejection(json.dumps({"keys": [jwk]}, indent=2))
