"""Wycheproof vectors against the exact signature path of promptify.identity.tokens.

Vectors: C2SP/wycheproof `testvectors_v1/` at dac1dd47 (Apache-2.0, see the LICENSE beside the
files). Two levels are tested:
(a) the primitive tokens.py registers (`SIGNATURE_ALGORITHMS[alg].verify(msg, sig, key)`, keys
    imported by `tokens.import_public_key`) must agree with every msg/sig vector;
(b) at the JWS level, `json_web_signature_test.json` tokens go through `inspect_jwt` (the same
    pipeline as verify_jwt); its payloads are not JSON, so we judge the "signature" step.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import import_key

from promptify.identity import tokens
from promptify.identity.errors import ApiError

REPO = Path(__file__).resolve().parents[2]
# tests/data/wycheproof is the committed copy; shared/ (beside the clone in CI) is the fallback.
DATA_DIRS = (
    REPO / "tests" / "data" / "wycheproof",
    REPO.parent / "shared" / "wycheproof",
    Path("/work/shared/wycheproof"),
)
NOW = datetime(2025, 6, 1, tzinfo=UTC)

# Verdicts our primitive gives on `acceptable` vectors (Wycheproof lets a verifier go either way).
ACCEPTABLE: dict[tuple[str, int], bool] = {
    # MissingNull: PKCS#1 v1.5 DigestInfo without the NULL parameter; OpenSSL rejects it.
    ("rsa_signature_2048_sha256_test.json", 8): False,
}

# JWS-level vectors whose label we knowingly disagree with, and why.
JWS_KNOWN_DISAGREEMENTS: dict[int, str] = {
    346: "vector bug: a PS384 token under a JWK whose alg is PS256; PS384 is not ours anyway",
    350: "vector bug: same as 346 with key_ops; PS384 is refused as jwt_unsupported_alg",
    353: "labelled invalid for JWK use=enc; Promptify keys are SPKI uploaded for signing, no use",
    354: "labelled invalid for JWK use=enc; Promptify keys are SPKI uploaded for signing, no use",
    355: "labelled invalid for key_ops=[encrypt]; SPKI keys carry no key_ops",
    356: "labelled invalid for key_ops=[encrypt]; SPKI keys carry no key_ops",
}
# 347/351 (ES512 with "ES521" typo) use P-521 keys and 367/370/372/373 are HS256: those groups
# are covered by test_every_foreign_algorithm_vector_is_refused instead.


@dataclass(frozen=True)
class VectorKey:
    thumbprint: str
    key_type: str
    algorithms: tuple[str, ...]
    spki_pem: str


def _data_dir() -> Path:
    for candidate in DATA_DIRS:
        if (candidate / "ed25519_test.json").is_file():
            return candidate
    if os.environ.get("CI") == "true":
        pytest.fail(f"Wycheproof vectors missing; looked in {[str(d) for d in DATA_DIRS]}")
    pytest.skip("Wycheproof vectors not present (copy /work/shared/wycheproof to tests/data)")


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((_data_dir() / name).read_text(encoding="utf-8"))


def _vectors(name: str) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
    for index, group in enumerate(_load(name)["testGroups"]):
        for test in group["tests"]:
            yield index, group, test


def _primitive_verdict(alg: str, key: VectorKey, test: dict[str, Any]) -> bool | str:
    try:
        imported = tokens.import_public_key(key)
        model = tokens.SIGNATURE_ALGORITHMS[alg]
        return model.verify(bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"]), imported)
    except Exception as exc:  # reported as a mismatch, never swallowed
        return f"raised {type(exc).__name__}: {exc}"


@pytest.mark.parametrize(
    ("name", "key_type", "alg"),
    [
        ("ed25519_test.json", "Ed25519", "EdDSA"),
        ("ed25519_test.json", "Ed25519", "Ed25519"),
        ("ecdsa_secp256r1_sha256_p1363_test.json", "P-256", "ES256"),
        ("rsa_pss_2048_sha256_mgf1_32_test.json", "RSA", "PS256"),
        ("rsa_signature_2048_sha256_test.json", "RSA", "RS256"),
    ],
)
def test_primitive_agrees_with_every_vector(name: str, key_type: str, alg: str) -> None:
    mismatches, count = [], 0
    for index, group, test in _vectors(name):
        key = VectorKey(f"{name}#{index}", key_type, (alg,), group["publicKeyPem"])
        verdict = _primitive_verdict(alg, key, test)
        if test["result"] == "acceptable":
            expected: bool | str = ACCEPTABLE[(name, test["tcId"])]
        else:
            expected = test["result"] == "valid"
        count += 1
        if verdict != expected:
            mismatches.append((test["tcId"], test["comment"], test["result"], verdict))
    assert count == _load(name)["numberOfTests"]
    assert mismatches == []


def _jwk_key(jwk: dict[str, Any], label: str) -> VectorKey | None:
    key_type = {"RSA": "RSA", "EC": "P-256" if jwk.get("crv") == "P-256" else ""}.get(jwk["kty"])
    if not key_type:
        return None
    pem = import_key(jwk).as_pem(private=False).decode("ascii")
    return VectorKey(label, key_type, tokens.ALGORITHMS_BY_KEY_TYPE[key_type], pem)


def _header_alg(token: str) -> object:
    try:
        segment = token.split(".")[0]
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))).get("alg")
    except Exception:
        return None


def test_jws_vectors_signature_step_agrees_with_labels() -> None:
    """Groups whose key is ours to hold (RSA, P-256; alg RS256/PS256/ES256 or unspecified)."""
    mismatches, checked = [], 0
    for index, group, test in _vectors("json_web_signature_test.json"):
        jwk = group.get("public")
        if not jwk or jwk.get("alg") not in (None, "RS256", "PS256", "ES256"):
            continue
        key = _jwk_key(jwk, f"jws#{index}")
        assert key is not None
        steps = {s.name: s for s in tokens.inspect_jwt(test["jws"], [key], app_id="a", now=NOW)}
        passed = steps["signature"].passed is True
        checked += 1
        if passed != (test["result"] == "valid") and test["tcId"] not in JWS_KNOWN_DISAGREEMENTS:
            mismatches.append((test["tcId"], test["comment"], test["result"], steps))
        if test["result"] == "invalid" and test["tcId"] not in JWS_KNOWN_DISAGREEMENTS:
            with pytest.raises(ApiError):
                tokens.verify_jwt(test["jws"], [key], app_id="a", now=NOW)
    assert checked > 300
    assert mismatches == []


def test_known_disagreements_still_disagree() -> None:
    """If a vector or our pipeline changes, the documented exceptions must be revisited."""
    for index, group, test in _vectors("json_web_signature_test.json"):
        if test["tcId"] in JWS_KNOWN_DISAGREEMENTS:
            key = _jwk_key(group["public"], f"jws#{index}")
            assert key is not None
            steps = {s.name: s for s in tokens.inspect_jwt(test["jws"], [key], app_id="a", now=NOW)}
            assert (steps["signature"].passed is True) != (test["result"] == "valid"), test["tcId"]


def test_every_foreign_algorithm_vector_is_refused() -> None:
    """none, HS*, RS384/512, PS384/512, ES512: refused whatever the label, with 401 codes."""
    rsa_jwk = next(
        g["public"]
        for g in _load("json_web_signature_test.json")["testGroups"]
        if g.get("public", {}).get("alg") == "RS256"
    )
    keys = [_jwk_key(rsa_jwk, "jws-rsa")]
    refused = 0
    for _index, _group, test in _vectors("json_web_signature_test.json"):
        if _header_alg(test["jws"]) in tokens.SUPPORTED_ALGORITHMS:
            continue
        with pytest.raises(ApiError) as info:
            tokens.verify_jwt(test["jws"], keys, app_id="a", now=NOW)
        assert info.value.code in ("jwt_unsupported_alg", "jwt_malformed"), test["tcId"]
        refused += 1
    assert refused > 50
