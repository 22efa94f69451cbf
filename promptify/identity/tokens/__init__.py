"""Verifying a signed identification token (docs/security.md, "What is verified and how"): one
pipeline, each refusal a precise error code, and a step-by-step report for the token tester.

`algorithms` pins joserfc to the four accepted algorithms and their key types; `claims`
checks the registered claims; `verify` runs them in order."""

from .algorithms import VerificationKey, import_public_key, jws_registry
from .verify import (
    ALGORITHMS_BY_KEY_TYPE,
    CHECK_NAMES,
    KEY_TYPE_BY_ALGORITHM,
    MAX_JTI_LENGTH,
    MAX_TOKEN_LENGTH,
    SIGNATURE_ALGORITHMS,
    SUPPORTED_ALGORITHMS,
    CheckStep,
    VerifiedToken,
    inspect_jwt,
    verify_jwt,
)

__all__ = [
    "ALGORITHMS_BY_KEY_TYPE",
    "CHECK_NAMES",
    "KEY_TYPE_BY_ALGORITHM",
    "MAX_JTI_LENGTH",
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
