"""The identify payload: field rules, limits, deduplication, JSON-path errors.

The rules are those of docs/identification.md, "Unsigned identification"; a token carries the
same fields.

`parse_user_payload` turns the object a host page passed to `promptify.setUser(...)` (or the
claims of a verified token) into a `UserPayload`, or raises the first `ApiError` in
document order. The per-field value rules live in `fields` (re-exported here), the
message helpers in `messages`. Pure: stdlib and email-validator only, no Flask, no
database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from ..errors import ApiError
from .fields import (
    MAX_ATTR_INT_DIGITS,
    MAX_ATTR_KEY_LENGTH,
    MAX_ATTR_STRING_LENGTH,
    MAX_ATTRS,
    MAX_AVATAR_URL_LENGTH,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    PROFILE_FIELDS,
    AttrValue,
    parse_attrs,
    parse_external_id,
    parse_name,
)
from .messages import describe, short, suggest, unknown_key

__all__ = [
    "MAX_ATTRS",
    "MAX_ATTR_INT_DIGITS",
    "MAX_ATTR_KEY_LENGTH",
    "MAX_ATTR_STRING_LENGTH",
    "MAX_AVATAR_URL_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_ORGANIZATIONS",
    "ORGANIZATION_KEYS",
    "REGISTERED_CLAIMS",
    "USER_KEYS",
    "AttrValue",
    "OrganizationInput",
    "UserPayload",
    "check_attr_count",
    "merge_attrs",
    "parse_user_payload",
]

REGISTERED_CLAIMS = frozenset({"exp", "nbf", "iat", "jti", "iss", "aud", "sub"})
MAX_ORGANIZATIONS = 10

USER_KEYS = ("id", "email", "name", "avatarUrl", "attrs", "organizations")
ORGANIZATION_KEYS = ("id", "name", "attrs")


@dataclass(frozen=True)
class OrganizationInput:
    """One entry of `organizations`: external id, display name, attrs to merge.

    `index` is the entry's position in the request's list (of the last entry with that id, which
    won), so a later after-merge error can name `organizations[<index>].attrs`.
    """

    external_id: str
    name: str
    attrs: dict[str, AttrValue | None]  # {} when absent; a None value deletes that key
    index: int = dataclass_field(default=0, compare=False)


@dataclass(frozen=True)
class UserPayload:
    """A validated identify payload. Absent fields are absent; None means "clear"."""

    external_id: str | None  # None = anonymous ({"id": null})
    profile: dict[str, str | None]  # keys present among "email", "name", "avatar_url"
    attrs: dict[str, AttrValue | None] | None  # None when absent; None values delete keys
    organizations: tuple[OrganizationInput, ...] | None  # None when absent; () = leave all

    @property
    def anonymous(self) -> bool:
        return self.external_id is None


def parse_user_payload(obj: Any, *, signed: bool = False) -> UserPayload:
    """Validate a setUser object or verified token claims and report the first error.

    `signed=True` is for token claims: the registered claims are allowed and ignored, and `id`
    may not be null because a signed token must identify a user.
    """
    if not isinstance(obj, dict):
        raise ApiError("invalid_json", "The request body must be a JSON object", None)
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
        if key in PROFILE_FIELDS:
            profile_key, parse = PROFILE_FIELDS[key]
            profile[profile_key] = None if value is None else parse(value)
        elif key == "attrs":
            attrs = parse_attrs(value, "attrs")
        elif key == "organizations":
            organizations = _parse_organizations(value, anonymous=external_id is None)
        else:
            raise _unknown_top_level_key(key, signed=signed)
    return UserPayload(external_id, profile, attrs, organizations)


def merge_attrs(
    stored: Mapping[str, AttrValue], incoming: Mapping[str, AttrValue | None]
) -> dict[str, AttrValue]:
    """Attrs merge into the stored ones; an incoming null deletes that key."""
    merged: dict[str, AttrValue] = dict(stored)
    for key, value in incoming.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def check_attr_count(merged: Mapping[str, object], field: str) -> None:
    """More than 50 attrs stored after the merge is `too_many_attrs` (nothing is written)."""
    if len(merged) > MAX_ATTRS:
        raise ApiError(
            "too_many_attrs",
            f"{field} would hold {len(merged)} keys after merging with the stored ones; at most "
            f"{MAX_ATTRS} are allowed. Delete keys you no longer need by sending them as null.",
            field,
        )


# --- user id -------------------------------------------------------------------------------


def _parse_user_id(obj: dict[Any, Any], *, signed: bool) -> str | None:
    """`id` is required; null means anonymous, except inside a signed token."""
    if "id" not in obj:
        if signed:
            hint = ' (the "sub" claim is not read as the user id)' if "sub" in obj else ""
            message = f'The token payload needs an "id" claim with the user\'s id{hint}.'
        else:
            message = (
                '"id" is required: pass the user\'s id from your app, or {"id": null} '
                "for an anonymous visitor."
            )
        near = next((k for k in obj if k != "id" and suggest(k, USER_KEYS) == "id"), None)
        if near is not None:
            message += f' Rename {short(near)} to "id".'
        raise ApiError("invalid_field", message, "id")
    value = obj["id"]
    if value is None:
        if signed:
            raise ApiError(
                "invalid_field",
                'A signed token must identify a user: set "id" to a string or an integer. '
                'Anonymous visitors are identified without a token, with {"id": null}.',
                "id",
            )
        return None
    return parse_external_id(value, "id")


# --- organizations -------------------------------------------------------------------------


def _parse_organizations(value: object, *, anonymous: bool) -> tuple[OrganizationInput, ...]:
    """The complete list of memberships, deduplicated by id (last wins), at most 10."""
    field = "organizations"
    if anonymous:
        raise ApiError(
            "invalid_field",
            'Anonymous visitors ({"id": null}) cannot belong to organizations: remove '
            '"organizations", or identify the user with an id.',
            field,
        )
    if not isinstance(value, list):
        wrap = " Wrap a single organization in [...]." if isinstance(value, dict) else ""
        raise ApiError(
            "invalid_field",
            f"organizations must be an array, not {describe(value)}. Send [] to remove "
            f"all memberships, or omit the key to leave them unchanged.{wrap}",
            field,
        )
    by_id: dict[str, OrganizationInput] = {}
    for index, entry in enumerate(value):
        org = _parse_organization(entry, index)
        # Reassigning an existing key keeps its first position: last entry wins, first place kept.
        by_id[org.external_id] = org
    if len(by_id) > MAX_ORGANIZATIONS:
        raise ApiError(
            "too_many_organizations",
            f"organizations lists {len(by_id)} distinct ids; a user can belong to at most "
            f"{MAX_ORGANIZATIONS} organizations.",
            field,
        )
    return tuple(by_id.values())


def _parse_organization(entry: object, index: int) -> OrganizationInput:
    """{"id": string | integer, "name": non-empty string, "attrs"?: object}."""
    field = f"organizations[{index}]"
    if not isinstance(entry, dict):
        raise ApiError(
            "invalid_field",
            f'{field} must be an object like {{"id": "org-456", "name": "Acme Corp"}}, '
            f"not {describe(entry)}.",
            field,
        )
    if "id" not in entry or entry["id"] is None:
        raise ApiError(
            "invalid_field",
            f"{field}.id is required and cannot be null: give every organization your "
            "id for it (a non-empty string or an integer).",
            f"{field}.id",
        )
    external_id = parse_external_id(entry["id"], f"{field}.id")
    name: str | None = None
    attrs: dict[str, AttrValue | None] = {}
    for key, value in entry.items():
        if key == "name":
            name = parse_name(value, f"{field}.name")
        elif key == "attrs":
            attrs = parse_attrs(value, f"{field}.attrs")
        elif key != "id":
            raise unknown_key(key, ORGANIZATION_KEYS, parent=field)
    if name is None:
        raise ApiError(
            "invalid_field",
            f"{field}.name is required: every organization needs a display name.",
            f"{field}.name",
        )
    return OrganizationInput(external_id, name, attrs, index)


# --- unknown keys --------------------------------------------------------------------------


def _unknown_top_level_key(key: object, *, signed: bool) -> ApiError:
    """Unknown top-level keys are refused, with a hint for typos and misplaced claims."""
    if key == "jwt":
        message = (
            'A token payload cannot contain a "jwt" claim: put id, email, name, avatarUrl, '
            "attrs and organizations directly in the payload."
            if signed
            else 'A token must be sent alone, as {"jwt": "<token>"}: put the user fields '
            "inside the signed token's payload, not next to it."
        )
        return ApiError("invalid_field", message, "jwt")
    if not signed and key in REGISTERED_CLAIMS:
        return ApiError(
            "invalid_field",
            f'"{key}" is a JWT claim and only means something inside a signed token; '
            'remove it, or sign the payload and send {"jwt": "<token>"}.',
            str(key),
        )
    if signed:
        claims = (*USER_KEYS, *sorted(REGISTERED_CLAIMS))
        return unknown_key(key, claims, parent=None, noun="claim", where="in the token payload")
    return unknown_key(key, USER_KEYS, parent=None)
