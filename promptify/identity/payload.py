"""The identify payload of PRODUCT.md §2.1: field rules, limits, deduplication, JSON-path errors.

`parse_user_payload` turns the object a host page passed to `promptify.setUser(...)` (or the
claims of a verified token) into a `UserPayload`, or raises the first `IdentifyError` in
document order. Pure: stdlib and email-validator only, no Flask, no database.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from promptify.identity.errors import IdentifyError

AttrValue = str | int | float | bool

REGISTERED_CLAIMS = frozenset({"exp", "nbf", "iat", "jti", "iss", "aud", "sub"})
MAX_ATTRS = 50
MAX_ORGANIZATIONS = 10
MAX_ID_LENGTH = 255
MAX_NAME_LENGTH = 255
MAX_AVATAR_URL_LENGTH = 2048
MAX_ATTR_KEY_LENGTH = 64
MAX_ATTR_STRING_LENGTH = 1000
# Digits, not value: a larger int is no "finite number" any JSON consumer can round-trip.
MAX_ATTR_INT_DIGITS = 1000

USER_KEYS = ("id", "email", "name", "avatarUrl", "attrs", "organizations")
ORGANIZATION_KEYS = ("id", "name", "attrs")

_ATTR_KEY_RE = re.compile(r"[A-Za-z0-9_.-]+")
# Names other messengers use for our fields, matched after lowercasing and dropping "_"/"-".
_ALIASES = {
    "userid": "id", "externalid": "id", "uid": "id",
    "emailaddress": "email", "mail": "email",
    "fullname": "name", "displayname": "name", "username": "name",
    "avatar": "avatarUrl", "image": "avatarUrl", "imageurl": "avatarUrl",
    "photo": "avatarUrl", "photourl": "avatarUrl", "picture": "avatarUrl",
    "attributes": "attrs", "customattributes": "attrs", "traits": "attrs",
    "properties": "attrs", "metadata": "attrs", "customdata": "attrs",
    "orgs": "organizations", "organization": "organizations", "companies": "organizations",
    "company": "organizations", "teams": "organizations", "groups": "organizations",
}


@dataclass(frozen=True)
class OrganizationInput:
    """One entry of `organizations` (§2.1): external id, display name, attrs to merge.

    `index` is the entry's position in the request's list (of the last entry with that id, which
    won), so a later after-merge error can name `organizations[<index>].attrs`.
    """

    external_id: str
    name: str
    attrs: dict[str, AttrValue | None]  # {} when absent; a None value deletes that key
    index: int = dataclass_field(default=0, compare=False)


@dataclass(frozen=True)
class UserPayload:
    """A validated identify payload (§2.1). Absent fields are absent; None means "clear"."""

    external_id: str | None  # None = anonymous ({"id": null})
    profile: dict[str, str | None]  # keys present among "email", "name", "avatar_url"
    attrs: dict[str, AttrValue | None] | None  # None when absent; None values delete keys
    organizations: tuple[OrganizationInput, ...] | None  # None when absent; () = leave all

    @property
    def anonymous(self) -> bool:
        return self.external_id is None


def parse_user_payload(obj: Any, *, signed: bool = False) -> UserPayload:
    """Validate a setUser object or verified token claims (§2.1) and report the first error (§2.2).

    `signed=True` is for token claims: the registered claims are allowed and ignored, and `id`
    may not be null because a signed token must identify a user.
    """
    if not isinstance(obj, dict):
        raise IdentifyError("invalid_json", "The request body must be a JSON object", None)
    if not signed and "jwt" in obj:
        # A token next to other fields changes what the request means, so say that before "id".
        raise _unknown_top_level_key("jwt", signed=False)
    external_id = _parse_user_id(obj, signed=signed)
    profile: dict[str, str | None] = {}
    attrs: dict[str, AttrValue | None] | None = None
    organizations: tuple[OrganizationInput, ...] | None = None
    for key, value in obj.items():
        if key == "id" or (signed and key in REGISTERED_CLAIMS):
            continue
        if key in _PROFILE_FIELDS:
            profile_key, parse = _PROFILE_FIELDS[key]
            profile[profile_key] = None if value is None else parse(value)
        elif key == "attrs":
            attrs = _parse_attrs(value, "attrs")
        elif key == "organizations":
            organizations = _parse_organizations(value, anonymous=external_id is None)
        else:
            raise _unknown_top_level_key(key, signed=signed)
    return UserPayload(external_id, profile, attrs, organizations)


def merge_attrs(
    stored: Mapping[str, AttrValue], incoming: Mapping[str, AttrValue | None]
) -> dict[str, AttrValue]:
    """§2.1: attrs merge into the stored ones; an incoming null deletes that key."""
    merged: dict[str, AttrValue] = dict(stored)
    for key, value in incoming.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def check_attr_count(merged: Mapping[str, object], field: str) -> None:
    """§2.1: more than 50 attrs stored after the merge is `too_many_attrs` (nothing is written)."""
    if len(merged) > MAX_ATTRS:
        raise IdentifyError(
            "too_many_attrs",
            f"{field} would hold {len(merged)} keys after merging with the stored ones; at most "
            f"{MAX_ATTRS} are allowed. Delete keys you no longer need by sending them as null.",
            field,
        )


# --- user id and profile -------------------------------------------------------------------


def _parse_user_id(obj: dict[Any, Any], *, signed: bool) -> str | None:
    """§2.1: `id` is required; null means anonymous, except inside a signed token."""
    if "id" not in obj:
        if signed:
            hint = ' (the "sub" claim is not read as the user id)' if "sub" in obj else ""
            message = f'The token payload needs an "id" claim with the user\'s id{hint}.'
        else:
            message = (
                '"id" is required: pass the user\'s id from your app, or {"id": null} '
                "for an anonymous visitor."
            )
        near = next((k for k in obj if k != "id" and _suggest(k, USER_KEYS) == "id"), None)
        if near is not None:
            message += f' Rename {_short(near)} to "id".'
        raise IdentifyError("invalid_field", message, "id")
    value = obj["id"]
    if value is None:
        if signed:
            raise IdentifyError(
                "invalid_field",
                'A signed token must identify a user: set "id" to a string or an integer. '
                'Anonymous visitors are identified without a token, with {"id": null}.',
                "id",
            )
        return None
    return _parse_external_id(value, "id")


def _parse_external_id(value: object, field: str) -> str:
    """§2.1: a non-empty string ≤ 255 chars, or an integer (123 and "123" are the same id)."""
    if isinstance(value, int) and not isinstance(value, bool):
        # Checked on bit length first: str() of a huge int is slow, and refused past 4300 digits.
        if value.bit_length() > 4 * MAX_ID_LENGTH or len(str(value)) > MAX_ID_LENGTH:
            raise IdentifyError(
                "invalid_field",
                f"{field} is an integer with more than {MAX_ID_LENGTH} digits; "
                "send a shorter id.",
                field,
            )
        return str(value)
    if not isinstance(value, str):
        hint = ""
        if isinstance(value, float) and value.is_integer():
            hint = " Send it without a decimal point, or as a string."
        raise IdentifyError(
            "invalid_field",
            f"{field} must be a non-empty string or an integer, not {_describe(value)}.{hint}",
            field,
        )
    return _check_bounded_text(value, field, MAX_ID_LENGTH)


def _parse_name(value: object, field: str = "name") -> str:
    """§2.1: a display name is a non-empty string ≤ 255 characters."""
    if not isinstance(value, str):
        raise IdentifyError(
            "invalid_field", f"{field} must be a non-empty string, not {_describe(value)}.", field
        )
    return _check_bounded_text(value, field, MAX_NAME_LENGTH)


def _parse_email(value: object) -> str:
    """§2.1: a valid address (email-validator, no deliverability check); stored normalized."""
    if not isinstance(value, str):
        raise IdentifyError(
            "invalid_field",
            f"email must be a string such as \"jane@example.com\", or null to clear it, "
            f"not {_describe(value)}.",
            "email",
        )
    _check_storable(value, "email")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise IdentifyError(
            "invalid_field", f"email {_short(value)} is not a valid address: {exc}", "email"
        ) from None


def _parse_avatar_url(value: object) -> str:
    """§2.1: an absolute https:// URL with a host, ≤ 2048 characters."""
    field = "avatarUrl"
    if not isinstance(value, str):
        raise IdentifyError(
            "invalid_field",
            f"avatarUrl must be an https:// URL string, or null to clear it, "
            f"not {_describe(value)}.",
            field,
        )
    if len(value) > MAX_AVATAR_URL_LENGTH:
        raise _too_long(field, len(value), MAX_AVATAR_URL_LENGTH)
    # A backslash counts as "/" in browsers, so the host they load could differ from ours.
    if any(ch.isspace() or not ch.isprintable() or ch == "\\" for ch in value):
        raise IdentifyError(
            "invalid_field",
            "avatarUrl contains whitespace, a backslash, or an invisible or control "
            "character; percent-encode it (a space is %20).",
            field,
        )
    if not _is_https_url(value):
        raise IdentifyError(
            "invalid_field",
            f"avatarUrl must be an absolute https:// URL with a host, such as "
            f'"https://example.com/avatar.jpg"; got {_short(value)}.',
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


_PROFILE_FIELDS: dict[str, tuple[str, Callable[[object], str]]] = {
    "email": ("email", _parse_email),
    "name": ("name", _parse_name),
    "avatarUrl": ("avatar_url", _parse_avatar_url),
}


# --- attrs ---------------------------------------------------------------------------------


def _parse_attrs(value: object, field: str) -> dict[str, AttrValue | None]:
    """§2.1: an object of ≤ 50 keys (nulls included) with scalar values; null deletes a key."""
    if not isinstance(value, dict):
        raise IdentifyError(
            "invalid_field",
            f"{field} must be an object of key-value pairs such as {{\"plan\": \"pro\"}}, "
            f"not {_describe(value)}. Omit it to leave the stored attrs unchanged.",
            field,
        )
    if len(value) > MAX_ATTRS:
        raise IdentifyError(
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
    """§2.1: attr keys are 1–64 characters of A-Z, a-z, 0-9, "_", "." and "-"."""
    if not isinstance(key, str) or not key:
        problem = "an empty key" if key == "" else f"the key {_short(key)}"
        raise IdentifyError(
            "invalid_field", f"{field} contains {problem}; keys must be 1-64 characters.", field
        )
    if len(key) > MAX_ATTR_KEY_LENGTH:
        raise IdentifyError(
            "invalid_field",
            f"{field} key {_short(key)} is {len(key)} characters long; "
            f"the limit is {MAX_ATTR_KEY_LENGTH}.",
            field,
        )
    if not _ATTR_KEY_RE.fullmatch(key):
        raise IdentifyError(
            "invalid_field",
            f"{field} key {_short(key)} is not allowed: use only letters A-Z and a-z, "
            'digits, "_", "." and "-" (for example "plan_tier").',
            field,
        )


def _parse_attr_value(value: object, field: str) -> AttrValue | None:
    """§2.1: a string ≤ 1000, a finite number, a boolean, or null (which deletes the key)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value.bit_length() > 4 * MAX_ATTR_INT_DIGITS or len(str(value)) > MAX_ATTR_INT_DIGITS:
            raise IdentifyError(
                "invalid_field",
                f"{field} is an integer with more than {MAX_ATTR_INT_DIGITS} digits; "
                "send it as a string instead.",
                field,
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise IdentifyError("invalid_field", f"{field} must be a finite number.", field)
        return value
    if isinstance(value, str):
        _check_storable(value, field)
        if len(value) > MAX_ATTR_STRING_LENGTH:
            raise _too_long(field, len(value), MAX_ATTR_STRING_LENGTH)
        return value
    raise IdentifyError(
        "invalid_field",
        f"{field} must be a string, number, boolean, or null (to delete it), not "
        f'{_describe(value)}. Flatten nested data into separate keys such as "plan.tier".',
        field,
    )


# --- organizations -------------------------------------------------------------------------


def _parse_organizations(value: object, *, anonymous: bool) -> tuple[OrganizationInput, ...]:
    """§2.1: the complete list of memberships, deduplicated by id (last wins), at most 10."""
    field = "organizations"
    if anonymous:
        raise IdentifyError(
            "invalid_field",
            'Anonymous visitors ({"id": null}) cannot belong to organizations: remove '
            '"organizations", or identify the user with an id.',
            field,
        )
    if not isinstance(value, list):
        wrap = " Wrap a single organization in [...]." if isinstance(value, dict) else ""
        raise IdentifyError(
            "invalid_field",
            f"organizations must be an array, not {_describe(value)}. Send [] to remove "
            f"all memberships, or omit the key to leave them unchanged.{wrap}",
            field,
        )
    by_id: dict[str, OrganizationInput] = {}
    for index, entry in enumerate(value):
        org = _parse_organization(entry, index)
        # Reassigning an existing key keeps its first position: last entry wins, first place kept.
        by_id[org.external_id] = org
    if len(by_id) > MAX_ORGANIZATIONS:
        raise IdentifyError(
            "too_many_organizations",
            f"organizations lists {len(by_id)} distinct ids; a user can belong to at most "
            f"{MAX_ORGANIZATIONS} organizations.",
            field,
        )
    return tuple(by_id.values())


def _parse_organization(entry: object, index: int) -> OrganizationInput:
    """§2.1: {"id": string | integer, "name": non-empty string, "attrs"?: object}."""
    field = f"organizations[{index}]"
    if not isinstance(entry, dict):
        raise IdentifyError(
            "invalid_field",
            f'{field} must be an object like {{"id": "org-456", "name": "Acme Corp"}}, '
            f"not {_describe(entry)}.",
            field,
        )
    if "id" not in entry or entry["id"] is None:
        raise IdentifyError(
            "invalid_field",
            f"{field}.id is required and cannot be null: give every organization your "
            "id for it (a non-empty string or an integer).",
            f"{field}.id",
        )
    external_id = _parse_external_id(entry["id"], f"{field}.id")
    name: str | None = None
    attrs: dict[str, AttrValue | None] = {}
    for key, value in entry.items():
        if key == "name":
            name = _parse_name(value, f"{field}.name")
        elif key == "attrs":
            attrs = _parse_attrs(value, f"{field}.attrs")
        elif key != "id":
            raise _unknown_key(key, ORGANIZATION_KEYS, parent=field)
    if name is None:
        raise IdentifyError(
            "invalid_field",
            f"{field}.name is required: every organization needs a display name.",
            f"{field}.name",
        )
    return OrganizationInput(external_id, name, attrs, index)


# --- shared checks and messages ------------------------------------------------------------


def _check_bounded_text(value: str, field: str, limit: int) -> str:
    if not value:
        raise IdentifyError("invalid_field", f"{field} must not be an empty string.", field)
    _check_storable(value, field)
    if len(value) > limit:
        raise _too_long(field, len(value), limit)
    return value


def _check_storable(value: str, field: str) -> None:
    """Refuse what the database cannot hold: NUL (PostgreSQL text) and unpaired surrogates."""
    if "\x00" in value:
        raise IdentifyError(
            "invalid_field",
            f"{field} contains a NUL character (\\u0000), which cannot be stored; remove it.",
            field,
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise IdentifyError(
            "invalid_field",
            f"{field} contains an unpaired UTF-16 surrogate, which cannot be stored; "
            "send valid Unicode text.",
            field,
        ) from None


def _too_long(field: str, length: int, limit: int) -> IdentifyError:
    return IdentifyError(
        "invalid_field",
        f"{field} is {length} characters long; the limit is {limit}. Shorten it.",
        field,
    )


def _unknown_top_level_key(key: object, *, signed: bool) -> IdentifyError:
    """§2.1: unknown top-level keys are refused, with a hint for typos and misplaced claims."""
    if key == "jwt":
        message = (
            'A token payload cannot contain a "jwt" claim: put id, email, name, avatarUrl, '
            "attrs and organizations directly in the payload."
            if signed
            else 'A token must be sent alone, as {"jwt": "<token>"}: put the user fields '
            "inside the signed token's payload, not next to it."
        )
        return IdentifyError("invalid_field", message, "jwt")
    if not signed and key in REGISTERED_CLAIMS:
        return IdentifyError(
            "invalid_field",
            f'"{key}" is a JWT claim and only means something inside a signed token; '
            'remove it, or sign the payload and send {"jwt": "<token>"}.',
            str(key),
        )
    if signed:
        claims = (*USER_KEYS, *sorted(REGISTERED_CLAIMS))
        return _unknown_key(key, claims, parent=None, noun="claim", where="in the token payload")
    return _unknown_key(key, USER_KEYS, parent=None)


def _unknown_key(
    key: object,
    allowed: tuple[str, ...],
    parent: str | None,
    *,
    noun: str = "field",
    where: str = "at the top level",
) -> IdentifyError:
    safe = isinstance(key, str) and 0 < len(key) <= 64 and key.isprintable()
    if safe:
        field: str | None = f"{parent}.{key}" if parent else str(key)
    else:
        field = parent  # an unprintable or huge key would make a useless, unloggable path
    if parent:
        where = f"in {parent}"
    suggestion = _suggest(key, allowed)
    hint = f' Did you mean "{suggestion}"?' if suggestion else ""
    listed = ", ".join(allowed)
    return IdentifyError(
        "invalid_field",
        f"Unknown {noun} {_short(key)} {where}.{hint} Allowed {noun}s: {listed}.",
        field,
    )


def _suggest(key: object, allowed: tuple[str, ...]) -> str | None:
    """The allowed key a typo most likely meant: case/underscore variants, aliases, difflib."""
    if not isinstance(key, str) or len(key) > 64:
        return None
    folded = key.lower().replace("_", "").replace("-", "")
    by_folded = {name.lower(): name for name in allowed}
    if folded in by_folded:
        return by_folded[folded]
    if _ALIASES.get(folded) in allowed:
        return _ALIASES[folded]
    close = difflib.get_close_matches(folded, list(by_folded), n=1)
    return by_folded[close[0]] if close else None


def _describe(value: object) -> str:
    """A short JSON-flavoured description of a wrong value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {_short(value)}"
    if isinstance(value, str):
        return "an empty string" if not value else f"the string {_short(value)}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a {type(value).__name__}"


def _short(value: object, limit: int = 40) -> str:
    """Quote a value for a message: escaped (no NUL or surrogate reaches a log) and truncated."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return "(a very large integer)"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = ascii(value)
    if len(text) <= limit:
        return text
    return text[: limit - 2] + ('…"' if text.startswith('"') else "…")
