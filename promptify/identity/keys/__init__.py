"""Public keys an admin pastes (docs/security.md, "Key paste rules") and which of the stored
ones may verify a token now (the replaced key's grace period).

`spki` parses and checks a paste, `number_theory` holds the Ed25519 point and ROCA checks,
`messages` every refusal text."""

from .number_theory import ed25519_pub_ok, has_roca_fingerprint
from .spki import (
    MAX_PASTE_CHARS,
    RSA_MAX_BITS,
    RSA_MIN_BITS,
    KeyRejected,
    PublicKeyInfo,
    StoredKey,
    grace_deadline,
    is_usable,
    parse_spki_pem,
    public_key_info_from_crypto_key,
    usable_keys,
)

__all__ = [
    "MAX_PASTE_CHARS",
    "RSA_MAX_BITS",
    "RSA_MIN_BITS",
    "KeyRejected",
    "PublicKeyInfo",
    "StoredKey",
    "ed25519_pub_ok",
    "grace_deadline",
    "has_roca_fingerprint",
    "is_usable",
    "parse_spki_pem",
    "public_key_info_from_crypto_key",
    "usable_keys",
]
