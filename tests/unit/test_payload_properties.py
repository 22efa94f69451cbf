"""Property tests for the identify payload parser: any JSON-like input gives a payload or a 4xx."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from promptify.identity.errors import STATUS_BY_CODE, ApiError
from promptify.identity.payload import (
    MAX_ATTRS,
    MAX_ORGANIZATIONS,
    REGISTERED_CLAIMS,
    USER_KEYS,
    UserPayload,
    parse_user_payload,
)

# database=None: no .hypothesis/ directory in the working tree.
SETTINGS = settings(max_examples=300, deadline=None, database=None)

TEXT = st.text(max_size=20) | st.sampled_from(["", "\x00", "a\x00b", "é", "https://x.io/a"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**255, 10**255 - 1, 2**64, -1, 0])
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON_LIKE = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)
ATTR_KEYS = st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True) | TEXT
ATTRS = st.dictionaries(ATTR_KEYS, SCALARS | JSON_LIKE, max_size=MAX_ATTRS + 3) | JSON_LIKE
IDS = st.none() | st.integers() | st.text(max_size=260) | SCALARS
ORG = st.fixed_dictionaries(
    {},
    optional={"id": IDS, "name": TEXT | SCALARS, "attrs": ATTRS, "plan": JSON_LIKE},
)
ORGS = st.lists(ORG | JSON_LIKE, max_size=MAX_ORGANIZATIONS + 3) | JSON_LIKE
EMAILS = st.emails() | TEXT | SCALARS
URLS = st.sampled_from(["https://example.com/a.jpg", "http://example.com", "https://"]) | TEXT
REAL_KEYS = st.fixed_dictionaries(
    {},
    optional={
        "id": IDS,
        "email": EMAILS,
        "name": TEXT | SCALARS,
        "avatarUrl": URLS | SCALARS,
        "attrs": ATTRS,
        "organizations": ORGS,
    },
)
NOISY_KEYS = st.dictionaries(
    st.sampled_from([*USER_KEYS, *sorted(REGISTERED_CLAIMS), "jwt", "avatarURL"]) | TEXT,
    JSON_LIKE,
    max_size=6,
)
# Valid by construction, so that the success paths (attrs, deduplication) are exercised too.
GOOD_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")  # no lone surrogates
GOOD_TEXT = st.text(GOOD_CHARS, min_size=1, max_size=255)
GOOD_IDS = st.integers(min_value=-(10**20), max_value=10**20) | GOOD_TEXT
GOOD_ATTRS = st.dictionaries(
    st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True),
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(GOOD_CHARS, max_size=1000),
    max_size=MAX_ATTRS,
)
GOOD_ORG = st.fixed_dictionaries(
    {"id": st.integers(0, 14) | st.sampled_from(["a", "b", "3"]), "name": GOOD_TEXT},
    optional={"attrs": GOOD_ATTRS},
)
GOOD_PAYLOADS = st.fixed_dictionaries(
    {"id": GOOD_IDS},
    optional={
        "email": st.none() | st.sampled_from(["jane@example.com", "Jo.Ann+tag@EXAMPLE.org"]),
        "name": st.none() | GOOD_TEXT,
        "avatarUrl": st.none() | st.sampled_from(["https://example.com/a.jpg", "https://x.io"]),
        "attrs": GOOD_ATTRS,
        "organizations": st.lists(GOOD_ORG, max_size=MAX_ORGANIZATIONS + 3),
    },
)
PAYLOADS = JSON_LIKE | REAL_KEYS | NOISY_KEYS | GOOD_PAYLOADS


def _parse_or_refuse(payload: Any, signed: bool) -> UserPayload | ApiError:
    try:
        return parse_user_payload(payload, signed=signed)
    except ApiError as error:
        return error


def _check_refusal(error: ApiError) -> None:
    assert error.code in STATUS_BY_CODE and 400 <= error.status < 500
    assert error.message and "\x00" not in error.message and len(error.message) < 600
    assert error.field is None or ("\x00" not in error.field and len(error.field) < 120)
    error.message.encode("utf-8")


def _check_payload(payload: UserPayload) -> None:
    if payload.external_id is not None:
        assert 0 < len(payload.external_id) <= 255 and "\x00" not in payload.external_id
    assert set(payload.profile) <= {"email", "name", "avatar_url"}
    assert payload.attrs is None or len(payload.attrs) <= MAX_ATTRS
    if payload.organizations is not None:
        assert not payload.anonymous and len(payload.organizations) <= MAX_ORGANIZATIONS
        ids = [o.external_id for o in payload.organizations]
        assert len(ids) == len(set(ids))


@SETTINGS
@given(payload=PAYLOADS, signed=st.booleans())
def test_any_input_gives_a_payload_or_a_4xx(payload: Any, signed: bool) -> None:
    result = _parse_or_refuse(payload, signed)
    if isinstance(result, ApiError):
        _check_refusal(result)
    else:
        _check_payload(result)
        assert not (signed and result.anonymous)


@SETTINGS
@given(payload=GOOD_PAYLOADS)
def test_valid_payloads_are_refused_only_beyond_ten_distinct_organizations(
    payload: dict[str, Any],
) -> None:
    distinct = {str(entry["id"]) for entry in payload.get("organizations", [])}
    result = _parse_or_refuse(payload, False)
    if len(distinct) > MAX_ORGANIZATIONS:
        assert isinstance(result, ApiError) and result.code == "too_many_organizations"
    else:
        assert isinstance(result, UserPayload) and result.external_id == str(payload["id"])
        assert result.attrs == payload.get("attrs")


@SETTINGS
@given(payload=REAL_KEYS | GOOD_PAYLOADS)
def test_accepted_payloads_reparse_to_themselves(payload: dict[str, Any]) -> None:
    """An identify repeated on every page load must parse to the same value (idempotence)."""
    first = _parse_or_refuse(payload, False)
    if isinstance(first, ApiError):
        return
    again: dict[str, Any] = {"id": first.external_id}
    names = {"email": "email", "name": "name", "avatar_url": "avatarUrl"}
    again |= {names[key]: value for key, value in first.profile.items()}
    if first.attrs is not None:
        again["attrs"] = first.attrs
    if first.organizations is not None:
        again["organizations"] = [
            {"id": o.external_id, "name": o.name, "attrs": o.attrs} for o in first.organizations
        ]
    assert parse_user_payload(again) == first


@SETTINGS
@given(number=st.integers(min_value=-(10**254) + 1, max_value=10**255 - 1))
def test_integer_id_is_its_decimal_string(number: int) -> None:
    assert parse_user_payload({"id": number}) == parse_user_payload({"id": str(number)})
