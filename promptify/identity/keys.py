"""SPKI public-key paste validation, RFC 7638 thumbprints and key usability (SECURITY-NOTES §3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


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


def parse_spki_pem(text: str) -> PublicKeyInfo:  # pragma: no cover - replaced by the implementation
    raise NotImplementedError


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
    if key.revoked_at is not None and key.revoked_at <= now:
        return False
    deadline = grace_deadline(key, grace)
    return deadline is None or now < deadline


def usable_keys(keys: list[StoredKey], now: datetime, grace: timedelta) -> list[StoredKey]:
    """The keys a token may be verified with at `now`, current key first."""
    alive = [k for k in keys if is_usable(k, now, grace)]
    return sorted(alive, key=lambda k: (k.retired_at is not None, -(k.retired_at or k.created_at).timestamp()))
