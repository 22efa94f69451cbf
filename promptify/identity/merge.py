"""Pure merge rules of identify: applying a payload to a stored profile, and folding in an
anonymous one (docs/identification.md, "Anonymous visitors")."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, cast

from promptify.identity.payload import MAX_ATTRS, UserPayload, check_attr_count, merge_attrs

PROFILE_FIELDS = ("email", "name", "avatar_url")


@dataclass(frozen=True)
class Profile:
    """The mergeable part of a contact."""

    email: str | None = None
    name: str | None = None
    avatar_url: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    email_verified: bool = False  # the email came from a signed token, not typed or unsigned


def apply_payload(stored: Profile, payload: UserPayload, *, signed: bool = False) -> Profile:
    """Present fields overwrite (null clears), absent ones stay; attrs merge with null-deletes.
    An email the payload sets is proven only when the payload is a signed token's claims.

    Raises too_many_attrs when more than 50 attrs would be stored after the merge.
    """
    updated = replace(stored, **cast(dict[str, Any], payload.profile))
    if "email" in payload.profile:
        updated = replace(updated, email_verified=signed and payload.profile["email"] is not None)
    if payload.attrs is not None:
        merged = merge_attrs(stored.attrs, payload.attrs)
        check_attr_count(merged, "attrs")
        updated = replace(updated, attrs=merged)
    return updated


def fill_from_anonymous(identified: Profile, anonymous: Profile, payload: UserPayload) -> Profile:
    """Sign-in merge: the anonymous record only fills what the identified contact lacks.

    A field the payload mentions (even as null) is the payload's; an attr the payload deleted stays
    deleted. Anonymous attrs are taken in key order while fewer than 50 are stored, so a merge can
    never push a contact over the limit.
    """
    filled = {
        name: getattr(anonymous, name)
        for name in PROFILE_FIELDS
        if getattr(identified, name) is None and name not in payload.profile
    }
    deleted = {key for key, value in (payload.attrs or {}).items() if value is None}
    attrs = dict(identified.attrs)
    for key in sorted(anonymous.attrs):
        if len(attrs) >= MAX_ATTRS:
            break
        if key not in attrs and key not in deleted:
            attrs[key] = anonymous.attrs[key]
    proven = identified.email_verified and "email" not in filled
    return replace(identified, **filled, attrs=attrs, email_verified=proven)
