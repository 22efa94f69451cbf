"""What `setUser()` may send (docs/identification.md, "Unsigned identification"): parsed and checked
into a `UserPayload`, or refused with the field path and a message saying what to change."""

from .parse import (
    MAX_ATTR_INT_DIGITS,
    MAX_ATTR_KEY_LENGTH,
    MAX_ATTR_STRING_LENGTH,
    MAX_ATTRS,
    MAX_AVATAR_URL_LENGTH,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_ORGANIZATIONS,
    ORGANIZATION_KEYS,
    PROFILE_FIELDS,
    REGISTERED_CLAIMS,
    USER_KEYS,
    OrganizationInput,
    UserPayload,
    check_attr_count,
    merge_attrs,
    parse_user_payload,
)

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
    "PROFILE_FIELDS",
    "REGISTERED_CLAIMS",
    "USER_KEYS",
    "OrganizationInput",
    "UserPayload",
    "check_attr_count",
    "merge_attrs",
    "parse_user_payload",
]
