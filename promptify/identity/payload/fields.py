"""The value rules of the identify payload's fields: ids, profile, attrs.

The rules are the field table of docs/widget-api.md, "Identify".

Each parser takes one JSON value and the JSON path to report, and returns the value to store or
raises `ApiError("invalid_field" | "too_many_attrs", ..., field=<path>)`. Pure: stdlib and
email-validator only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import email_validator
from email_validator import EmailNotValidError, validate_email

from ..errors import ApiError
from .messages import describe, short

AttrValue = str | int | float | bool

# Special-use domains that staging setups use (RFC 6761: `.test`, `.local`, `.localhost`) are
# valid addresses here, since no deliverability is checked. email-validator documents its
# module-level list as the place to allow them; `.invalid`, `.onion` and `.arpa` stay refused.
STAGING_DOMAINS = ("test", "local", "localhost")
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [
    name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name not in STAGING_DOMAINS
]

MAX_ATTRS = 50
MAX_ID_LENGTH = 255
MAX_NAME_LENGTH = 255
MAX_AVATAR_URL_LENGTH = 2048
MAX_ATTR_KEY_LENGTH = 64
MAX_ATTR_STRING_LENGTH = 1000
# Digits, not value: a larger int is no "finite number" any JSON consumer can round-trip.
MAX_ATTR_INT_DIGITS = 1000

_ATTR_KEY_RE = re.compile(r"[A-Za-z0-9_.-]+")


# --- ids and profile -----------------------------------------------------------------------


def parse_external_id(value: object, field: str) -> str:
    """A non-empty string ≤ 255 chars, or an integer (123 and "123" are the same id)."""
    if isinstance(value, int) and not isinstance(value, bool):
        # Checked on bit length first: str() of a huge int is slow, and refused past 4300 digits.
        if value.bit_length() > 4 * MAX_ID_LENGTH or len(str(value)) > MAX_ID_LENGTH:
            raise ApiError(
                "invalid_field",
                f"{field} is an integer with more than {MAX_ID_LENGTH} digits; send a shorter id.",
                field,
            )
        return str(value)
    if not isinstance(value, str):
        hint = ""
        if isinstance(value, float) and value.is_integer():
            hint = " Send it without a decimal point, or as a string."
        raise ApiError(
            "invalid_field",
            f"{field} must be a non-empty string or an integer, not {describe(value)}.{hint}",
            field,
        )
    return _check_bounded_text(value, field, MAX_ID_LENGTH)


def parse_name(value: object, field: str = "name") -> str:
    """A display name is a non-empty string ≤ 255 characters."""
    if not isinstance(value, str):
        raise ApiError(
            "invalid_field", f"{field} must be a non-empty string, not {describe(value)}.", field
        )
    return _check_bounded_text(value, field, MAX_NAME_LENGTH)


def _parse_email(value: object) -> str:
    """A valid address (email-validator, no deliverability check); stored normalized."""
    if not isinstance(value, str):
        raise ApiError(
            "invalid_field",
            f'email must be a string such as "jane@example.com", or null to clear it, '
            f"not {describe(value)}.",
            "email",
        )
    _check_storable(value, "email")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ApiError(
            "invalid_field", f"email {short(value)} is not a valid address: {exc}", "email"
        ) from None


def _parse_avatar_url(value: object) -> str:
    """An absolute https:// URL with a host, ≤ 2048 characters."""
    field = "avatarUrl"
    if not isinstance(value, str):
        raise ApiError(
            "invalid_field",
            f"avatarUrl must be an https:// URL string, or null to clear it, "
            f"not {describe(value)}.",
            field,
        )
    if len(value) > MAX_AVATAR_URL_LENGTH:
        raise _too_long(field, len(value), MAX_AVATAR_URL_LENGTH)
    # A backslash counts as "/" in browsers, so the host they load could differ from ours.
    if any(ch.isspace() or not ch.isprintable() or ch == "\\" for ch in value):
        raise ApiError(
            "invalid_field",
            "avatarUrl contains whitespace, a backslash, or an invisible or control "
            "character; percent-encode it (a space is %20).",
            field,
        )
    if not _is_https_url(value):
        raise ApiError(
            "invalid_field",
            f"avatarUrl must be an absolute https:// URL with a host, such as "
            f'"https://example.com/avatar.jpg"; got {short(value)}.',
            field,
        )
    return value


def _is_https_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a non-numeric or out-of-range port
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname)


PROFILE_FIELDS: dict[str, tuple[str, Callable[[object], str]]] = {
    "email": ("email", _parse_email),
    "name": ("name", parse_name),
    "avatarUrl": ("avatar_url", _parse_avatar_url),
}


# --- attrs ---------------------------------------------------------------------------------


def parse_attrs(value: object, field: str) -> dict[str, AttrValue | None]:
    """An object of ≤ 50 keys (nulls included) with scalar values; null deletes a key."""
    if not isinstance(value, dict):
        raise ApiError(
            "invalid_field",
            f'{field} must be an object of key-value pairs such as {{"plan": "pro"}}, '
            f"not {describe(value)}. Omit it to leave the stored attrs unchanged.",
            field,
        )
    if len(value) > MAX_ATTRS:
        raise ApiError(
            "too_many_attrs",
            f"{field} has {len(value)} keys; at most {MAX_ATTRS} are allowed per request "
            "(keys set to null, which delete, count too).",
            field,
        )
    parsed: dict[str, AttrValue | None] = {}
    for key, item in value.items():
        _check_attr_key(key, field)
        parsed[key] = _parse_attr_value(item, f"{field}.{key}")
    return parsed


def _check_attr_key(key: object, field: str) -> None:
    """Attr keys are 1–64 characters of A-Z, a-z, 0-9, "_", "." and "-"."""
    if not isinstance(key, str) or not key:
        problem = "an empty key" if key == "" else f"the key {short(key)}"
        raise ApiError(
            "invalid_field", f"{field} contains {problem}; keys must be 1-64 characters.", field
        )
    if len(key) > MAX_ATTR_KEY_LENGTH:
        raise ApiError(
            "invalid_field",
            f"{field} key {short(key)} is {len(key)} characters long; "
            f"the limit is {MAX_ATTR_KEY_LENGTH}.",
            field,
        )
    if not _ATTR_KEY_RE.fullmatch(key):
        raise ApiError(
            "invalid_field",
            f"{field} key {short(key)} is not allowed: use only letters A-Z and a-z, "
            'digits, "_", "." and "-" (for example "plan_tier").',
            field,
        )


def _parse_attr_value(value: object, field: str) -> AttrValue | None:
    """A string ≤ 1000, a finite number, a boolean, or null (which deletes the key)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value.bit_length() > 4 * MAX_ATTR_INT_DIGITS or len(str(value)) > MAX_ATTR_INT_DIGITS:
            raise ApiError(
                "invalid_field",
                f"{field} is an integer with more than {MAX_ATTR_INT_DIGITS} digits; "
                "send it as a string instead.",
                field,
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ApiError("invalid_field", f"{field} must be a finite number.", field)
        return value
    if isinstance(value, str):
        _check_storable(value, field)
        if len(value) > MAX_ATTR_STRING_LENGTH:
            raise _too_long(field, len(value), MAX_ATTR_STRING_LENGTH)
        return value
    raise ApiError(
        "invalid_field",
        f"{field} must be a string, number, boolean, or null (to delete it), not "
        f'{describe(value)}. Flatten nested data into separate keys such as "plan.tier".',
        field,
    )


# --- shared checks -------------------------------------------------------------------------


def _check_bounded_text(value: str, field: str, limit: int) -> str:
    if not value:
        raise ApiError("invalid_field", f"{field} must not be an empty string.", field)
    _check_storable(value, field)
    if len(value) > limit:
        raise _too_long(field, len(value), limit)
    return value


def _check_storable(value: str, field: str) -> None:
    """Refuse what the database cannot hold: NUL (PostgreSQL text) and unpaired surrogates."""
    if "\x00" in value:
        raise ApiError(
            "invalid_field",
            f"{field} contains a NUL character (\\u0000), which cannot be stored; remove it.",
            field,
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            "invalid_field",
            f"{field} contains an unpaired UTF-16 surrogate, which cannot be stored; "
            "send valid Unicode text.",
            field,
        ) from None


def _too_long(field: str, length: int, limit: int) -> ApiError:
    return ApiError(
        "invalid_field",
        f"{field} is {length} characters long; the limit is {limit}. Shorten it.",
        field,
    )
