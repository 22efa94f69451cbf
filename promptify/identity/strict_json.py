"""Strict JSON decoding shared by request bodies and token segments.

UTF-8 only (no BOM, no UTF-16/32), no NaN/Infinity literals, no duplicate member names, no lone
surrogates. A repeated member is refused because a parser that keeps the last one would read
`{"sub": "alice", "sub": "admin"}` as admin. Anything else raises `StrictJSONError` with a
message fit for a developer.
"""

from __future__ import annotations

import json
from typing import Any


class StrictJSONError(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for name, value in pairs:
        if name in obj:
            raise StrictJSONError(f"the member {name!r} appears more than once")
        obj[name] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise StrictJSONError(f"{name} is not valid JSON")


def loads_strict(raw: bytes | str) -> Any:
    """Decode one JSON document strictly; raises StrictJSONError on anything lax parsers accept."""
    if isinstance(raw, bytes):
        if raw.startswith(b"\xef\xbb\xbf"):
            raise StrictJSONError("a byte order mark is not allowed; send plain UTF-8")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise StrictJSONError("the body is not valid UTF-8") from None
    else:
        text = raw
    try:
        value = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except StrictJSONError:
        raise
    except RecursionError:
        raise StrictJSONError("the JSON is nested too deeply") from None
    except ValueError as exc:
        raise StrictJSONError(f"not valid JSON ({exc})") from None
    try:
        # Lone surrogates such as "\ud800" decode fine but can never be stored as UTF-8.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise StrictJSONError("the JSON contains an unpaired UTF-16 surrogate") from None
    except RecursionError:
        raise StrictJSONError("the JSON is nested too deeply") from None
    return value
