"""How the identify payload's error messages quote values and suggest keys.

Every message (docs/widget-api.md, "Errors") names the JSON path and says what to send
instead; values are quoted escaped and truncated, so no NUL, surrogate or megabyte string
reaches a log. Pure: stdlib only.
"""

from __future__ import annotations

import difflib
import json
import math

from ..errors import ApiError

# Names other messengers use for our fields, matched after lowercasing and dropping "_"/"-".
_ALIASES = {
    "userid": "id",
    "externalid": "id",
    "uid": "id",
    "emailaddress": "email",
    "mail": "email",
    "fullname": "name",
    "displayname": "name",
    "username": "name",
    "avatar": "avatarUrl",
    "image": "avatarUrl",
    "imageurl": "avatarUrl",
    "photo": "avatarUrl",
    "photourl": "avatarUrl",
    "picture": "avatarUrl",
    "attributes": "attrs",
    "customattributes": "attrs",
    "traits": "attrs",
    "properties": "attrs",
    "metadata": "attrs",
    "customdata": "attrs",
    "orgs": "organizations",
    "organization": "organizations",
    "companies": "organizations",
    "company": "organizations",
    "teams": "organizations",
    "groups": "organizations",
}


def unknown_key(
    key: object,
    allowed: tuple[str, ...],
    parent: str | None,
    *,
    noun: str = "field",
    where: str = "at the top level",
) -> ApiError:
    safe = isinstance(key, str) and 0 < len(key) <= 64 and key.isprintable()
    if safe:
        field: str | None = f"{parent}.{key}" if parent else str(key)
    else:
        field = parent  # an unprintable or huge key would make a useless, unloggable path
    if parent:
        where = f"in {parent}"
    suggestion = suggest(key, allowed)
    hint = f' Did you mean "{suggestion}"?' if suggestion else ""
    listed = ", ".join(allowed)
    return ApiError(
        "invalid_field",
        f"Unknown {noun} {short(key)} {where}.{hint} Allowed {noun}s: {listed}.",
        field,
    )


def suggest(key: object, allowed: tuple[str, ...]) -> str | None:
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


def describe(value: object) -> str:
    """A short JSON-flavoured description of a wrong value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {short(value)}"
    if isinstance(value, str):
        return "an empty string" if not value else f"the string {short(value)}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a {type(value).__name__}"


def short(value: object, limit: int = 40) -> str:
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
