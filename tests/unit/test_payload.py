"""The identify payload rules (docs/identification.md, "Unsigned identification"), with the
error codes and fields of docs/widget-api.md, "Errors"."""

from __future__ import annotations

from typing import Any

import pytest

from promptify.identity.errors import ApiError
from promptify.identity.payload import (
    MAX_ATTRS,
    MAX_ORGANIZATIONS,
    REGISTERED_CLAIMS,
    OrganizationInput,
    UserPayload,
    check_attr_count,
    merge_attrs,
    parse_user_payload,
)

# The setUser example of docs/identification.md, "Unsigned identification", exactly as written.
SEED_EXAMPLE: dict[str, Any] = {
    "id": "user-123",
    "email": "jane@example.com",
    "name": "Jane Doe",
    "avatarUrl": "https://example.com/avatar.jpg",
    "attrs": {"plan": "pro", "active": True},
    "organizations": [{"id": "org-456", "name": "Acme Corp", "attrs": {"industry": "SaaS"}}],
}

EMAIL_254 = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"
EMAIL_255 = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".com"
AVATAR_2048 = "https://example.com/" + "a" * (2048 - len("https://example.com/"))


def user(**fields: Any) -> dict[str, Any]:
    return {"id": "user-1", **fields}


def org(index: int | str = 0, **fields: Any) -> dict[str, Any]:
    return {"id": f"org-{index}", "name": f"Org {index}", **fields}


def attrs_of(count: int, value: Any = "v") -> dict[str, Any]:
    return {f"k{i}": value for i in range(count)}


def parse_error(payload: Any, *, signed: bool = False) -> ApiError:
    with pytest.raises(ApiError) as info:
        parse_user_payload(payload, signed=signed)
    return info.value


# (payload, code, field): every refusal of the payload rules, one row each.
CASES: list[tuple[Any, str, str | None]] = [
    # The body itself.
    ([], "invalid_json", None),
    ("user-1", "invalid_json", None),
    (None, "invalid_json", None),
    (42, "invalid_json", None),
    # id: required, string or integer, null only when anonymous.
    ({}, "invalid_field", "id"),
    ({"email": "jane@example.com"}, "invalid_field", "id"),
    ({"userId": "u"}, "invalid_field", "id"),
    ({"id": True}, "invalid_field", "id"),
    ({"id": False}, "invalid_field", "id"),
    ({"id": 1.5}, "invalid_field", "id"),
    ({"id": 1.0}, "invalid_field", "id"),
    ({"id": float("nan")}, "invalid_field", "id"),
    ({"id": ""}, "invalid_field", "id"),
    ({"id": {}}, "invalid_field", "id"),
    ({"id": {"id": "u"}}, "invalid_field", "id"),
    ({"id": []}, "invalid_field", "id"),
    ({"id": ["u"]}, "invalid_field", "id"),
    ({"id": "u" * 256}, "invalid_field", "id"),
    ({"id": 10**255}, "invalid_field", "id"),  # 256 digits
    ({"id": -(10**254)}, "invalid_field", "id"),  # "-" + 255 digits
    ({"id": 10**5000}, "invalid_field", "id"),  # beyond int→str's own digit limit
    ({"id": "user\x00"}, "invalid_field", "id"),
    ({"id": "\ud800"}, "invalid_field", "id"),
    # Unknown top-level keys, typos included.
    (user(avatarURL="https://example.com/a.jpg"), "invalid_field", "avatarURL"),
    (user(avatar_url="https://example.com/a.jpg"), "invalid_field", "avatar_url"),
    (user(organisations=[]), "invalid_field", "organisations"),
    (user(attributes={}), "invalid_field", "attributes"),
    (user(Email="jane@example.com"), "invalid_field", "Email"),
    (user(phone="+1"), "invalid_field", "phone"),
    (user(jwt="eyJ..."), "invalid_field", "jwt"),
    ({"jwt": "eyJ...", "email": "jane@example.com"}, "invalid_field", "jwt"),
    (user(exp=2_000_000_000), "invalid_field", "exp"),
    (user(sub="user-1"), "invalid_field", "sub"),
    (user(**{"\x00": 1}), "invalid_field", None),
    (user(**{"k" * 65: 1}), "invalid_field", None),
    # email.
    (user(email="jane"), "invalid_field", "email"),
    (user(email="jane@localhost"), "invalid_field", "email"),
    (user(email="Jane Doe <jane@example.com>"), "invalid_field", "email"),
    (user(email=" jane@example.com"), "invalid_field", "email"),
    (user(email=EMAIL_255), "invalid_field", "email"),
    (user(email="ja\x00ne@example.com"), "invalid_field", "email"),
    (user(email=""), "invalid_field", "email"),
    (user(email=1), "invalid_field", "email"),
    (user(email=True), "invalid_field", "email"),
    (user(email=["jane@example.com"]), "invalid_field", "email"),
    # name.
    (user(name=""), "invalid_field", "name"),
    (user(name="n" * 256), "invalid_field", "name"),
    (user(name="Ja\x00ne"), "invalid_field", "name"),
    (user(name=7), "invalid_field", "name"),
    (user(name={"first": "Jane"}), "invalid_field", "name"),
    # avatarUrl.
    (user(avatarUrl="http://example.com/a.jpg"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="javascript:alert(1)"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="/avatar.jpg"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="//example.com/a.jpg"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="example.com/a.jpg"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="data:image/png;base64,iVBORw0KGgo="), "invalid_field", "avatarUrl"),
    (user(avatarUrl="https://"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="https:///a.jpg"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="https:example.com/a.jpg"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="https://:443/a.jpg"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="https://example.com:https/a.jpg"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="https://[::1/a.jpg"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="https://example.com/a b.jpg"), "invalid_field", "avatarUrl"),
    (user(avatarUrl=" https://example.com/a.jpg"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="https://example.com/a.jpg\n"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="https://example.com/\x00.jpg"), "invalid_field", "avatarUrl"),
    (user(avatarUrl="https://evil.example\\@example.com/"), "invalid_field", "avatarUrl"),
    (user(avatarUrl=AVATAR_2048 + "a"), "invalid_field", "avatarUrl"),
    (user(avatarUrl=""), "invalid_field", "avatarUrl"),
    (user(avatarUrl=1), "invalid_field", "avatarUrl"),
    # attrs: shape, count, keys, values.
    (user(attrs=None), "invalid_field", "attrs"),
    (user(attrs=[]), "invalid_field", "attrs"),
    (user(attrs=[["plan", "pro"]]), "invalid_field", "attrs"),
    (user(attrs="plan=pro"), "invalid_field", "attrs"),
    (user(attrs=attrs_of(MAX_ATTRS + 1)), "too_many_attrs", "attrs"),
    (user(attrs=attrs_of(MAX_ATTRS + 1, None)), "too_many_attrs", "attrs"),
    (user(attrs={"": 1}), "invalid_field", "attrs"),
    (user(attrs={"k" * 65: 1}), "invalid_field", "attrs"),
    (user(attrs={"plan type": 1}), "invalid_field", "attrs"),
    (user(attrs={"plän": 1}), "invalid_field", "attrs"),
    (user(attrs={"plan\n": 1}), "invalid_field", "attrs"),
    (user(attrs={"a\x00": 1}), "invalid_field", "attrs"),
    (user(attrs={"plan": {"tier": "pro"}}), "invalid_field", "attrs.plan"),
    (user(attrs={"plan": {}}), "invalid_field", "attrs.plan"),
    (user(attrs={"tags": ["a", "b"]}), "invalid_field", "attrs.tags"),
    (user(attrs={"tags": []}), "invalid_field", "attrs.tags"),
    (user(attrs={"score": float("nan")}), "invalid_field", "attrs.score"),
    (user(attrs={"score": float("inf")}), "invalid_field", "attrs.score"),
    (user(attrs={"score": float("-inf")}), "invalid_field", "attrs.score"),
    (user(attrs={"big": 10**1000}), "invalid_field", "attrs.big"),
    (user(attrs={"note": "n" * 1001}), "invalid_field", "attrs.note"),
    (user(attrs={"note": "a\x00b"}), "invalid_field", "attrs.note"),
    (user(attrs={"ok": 1, "plan": {}, "bad key": 1}), "invalid_field", "attrs.plan"),
    # organizations: shape.
    (user(organizations=None), "invalid_field", "organizations"),
    (user(organizations=org()), "invalid_field", "organizations"),
    (user(organizations="org-1"), "invalid_field", "organizations"),
    (user(organizations=1), "invalid_field", "organizations"),
    (user(organizations=[1]), "invalid_field", "organizations[0]"),
    (user(organizations=["org-1"]), "invalid_field", "organizations[0]"),
    (user(organizations=[None]), "invalid_field", "organizations[0]"),
    (user(organizations=[[org()]]), "invalid_field", "organizations[0]"),
    (user(organizations=[org(0), org(1), org(2), "org-3"]), "invalid_field", "organizations[3]"),
    # organizations: entries.
    (user(organizations=[{"name": "Acme"}]), "invalid_field", "organizations[0].id"),
    (user(organizations=[{"id": None, "name": "Acme"}]), "invalid_field", "organizations[0].id"),
    (user(organizations=[{"id": True, "name": "Acme"}]), "invalid_field", "organizations[0].id"),
    (user(organizations=[{"id": 4.5, "name": "Acme"}]), "invalid_field", "organizations[0].id"),
    (user(organizations=[{"id": "", "name": "Acme"}]), "invalid_field", "organizations[0].id"),
    (user(organizations=[{"id": "o" * 256, "name": "A"}]), "invalid_field", "organizations[0].id"),
    (user(organizations=[{"id": 10**255, "name": "A"}]), "invalid_field", "organizations[0].id"),
    (user(organizations=[{"id": "o\x00", "name": "A"}]), "invalid_field", "organizations[0].id"),
    (user(organizations=[{"id": "org-1"}]), "invalid_field", "organizations[0].name"),
    (user(organizations=[org(name=None)]), "invalid_field", "organizations[0].name"),
    (user(organizations=[org(name="")]), "invalid_field", "organizations[0].name"),
    (user(organizations=[org(name="n" * 256)]), "invalid_field", "organizations[0].name"),
    (user(organizations=[org(name=1)]), "invalid_field", "organizations[0].name"),
    (user(organizations=[org(name="Ac\x00me")]), "invalid_field", "organizations[0].name"),
    (user(organizations=[org(plan="pro")]), "invalid_field", "organizations[0].plan"),
    (user(organizations=[org(attributes={})]), "invalid_field", "organizations[0].attributes"),
    (user(organizations=[org(**{"\x00": 1})]), "invalid_field", "organizations[0]"),
    (user(organizations=[org(attrs=None)]), "invalid_field", "organizations[0].attrs"),
    (user(organizations=[org(attrs=[])]), "invalid_field", "organizations[0].attrs"),
    (user(organizations=[org(attrs={"a b": 1})]), "invalid_field", "organizations[0].attrs"),
    (
        user(organizations=[org(0), org(1), org(2), org(3, attrs={"plan": {}})]),
        "invalid_field",
        "organizations[3].attrs.plan",
    ),
    (
        user(organizations=[org(0), org(1, attrs=attrs_of(MAX_ATTRS + 1))]),
        "too_many_attrs",
        "organizations[1].attrs",
    ),
    (
        user(organizations=[org(i) for i in range(MAX_ORGANIZATIONS + 1)]),
        "too_many_organizations",
        "organizations",
    ),
    # Anonymous visitors cannot belong to organizations, not even to none.
    ({"id": None, "organizations": [org()]}, "invalid_field", "organizations"),
    ({"id": None, "organizations": []}, "invalid_field", "organizations"),
    ({"id": None, "organizations": None}, "invalid_field", "organizations"),
    ({"id": None, "email": "not-an-email"}, "invalid_field", "email"),
    # Document order: the first error wins, id first.
    ({"email": "bad", "id": True}, "invalid_field", "id"),
    ({"name": "", "email": "bad", "id": "u"}, "invalid_field", "name"),
    (user(email="bad", name=""), "invalid_field", "email"),
    (user(attrs={"plan": {}}, organizations=[1]), "invalid_field", "attrs.plan"),
    (user(organizations=[1], attrs={"plan": {}}), "invalid_field", "organizations[0]"),
    (user(bogus=1, email="bad"), "invalid_field", "bogus"),
    (user(organizations=[{"name": 1, "id": True}]), "invalid_field", "organizations[0].id"),
    (user(organizations=[{"plan": 1, "id": "o"}]), "invalid_field", "organizations[0].plan"),
]


def _case_ids(cases: list[tuple[Any, str, str | None]]) -> list[str]:
    """Readable ids; repr() is avoided because a 5000-digit int cannot be converted to str."""
    return [f"{index:03d}-{code}-{field}" for index, (_, code, field) in enumerate(cases)]


@pytest.mark.parametrize(("payload", "code", "field"), CASES, ids=_case_ids(CASES))
def test_refused_payloads(payload: Any, code: str, field: str | None) -> None:
    error = parse_error(payload)
    assert (error.code, error.field) == (code, field)
    assert 400 <= error.status < 500
    assert error.message.strip() and "\x00" not in error.message and len(error.message) < 600


SIGNED_CASES: list[tuple[Any, str, str | None]] = [
    ({"id": None, "exp": 2_000_000_000}, "invalid_field", "id"),
    ({"exp": 2_000_000_000}, "invalid_field", "id"),
    ({"sub": "user-1", "exp": 2_000_000_000}, "invalid_field", "id"),
    ({"id": "u", "jwt": "eyJ...", "exp": 2_000_000_000}, "invalid_field", "jwt"),
    ({"id": "u", "role": "admin", "exp": 2_000_000_000}, "invalid_field", "role"),
    ({"id": "u", "verified": True, "exp": 2_000_000_000}, "invalid_field", "verified"),
    ({"id": True, "exp": 2_000_000_000}, "invalid_field", "id"),
    ({"id": "u", "email": "bad", "exp": 2_000_000_000}, "invalid_field", "email"),
    ({"id": "u", "attrs": attrs_of(51), "exp": 2_000_000_000}, "too_many_attrs", "attrs"),
]


@pytest.mark.parametrize(("payload", "code", "field"), SIGNED_CASES, ids=_case_ids(SIGNED_CASES))
def test_refused_signed_claims(payload: Any, code: str, field: str | None) -> None:
    error = parse_error(payload, signed=True)
    assert (error.code, error.field) == (code, field)


def test_messages_tell_the_developer_what_to_change() -> None:
    assert 'Did you mean "avatarUrl"?' in parse_error(user(avatarURL="x")).message
    assert 'Did you mean "avatarUrl"?' in parse_error(user(avatar_url="x")).message
    assert 'Did you mean "organizations"?' in parse_error(user(organisations=[])).message
    assert 'Did you mean "attrs"?' in parse_error(user(attributes={})).message
    org_typo = parse_error(user(organizations=[{"id": 1, "Name": "A"}]))
    assert 'Did you mean "name"?' in org_typo.message
    assert '{"id": null}' in parse_error({}).message
    assert 'Rename "userId" to "id"' in parse_error({"userId": "u"}).message
    assert "anonymous" in parse_error({"id": None, "organizations": []}).message.lower()
    assert "signed token must identify a user" in parse_error({"id": None}, signed=True).message
    claim_typo = parse_error({"id": "u", "expires": 1}, signed=True)
    assert 'Unknown claim "expires"' in claim_typo.message
    assert 'Did you mean "exp"?' in claim_typo.message
    assert "255" in parse_error({"id": "u" * 256}).message
    assert "Send [] to remove all memberships" in parse_error(user(organizations=None)).message
    assert "https://" in parse_error(user(avatarUrl="http://example.com/a.jpg")).message
    key_error = parse_error(user(attrs={"x" * 500 + " y": 1}))
    assert key_error.field == "attrs" and '"xxx' in key_error.message
    assert len(key_error.message) < 300  # the key is quoted truncated, not in full


@pytest.mark.parametrize(
    "payload",
    [
        user(attrs=attrs_of(MAX_ATTRS)),
        user(attrs=attrs_of(MAX_ATTRS, None)),
        user(organizations=[org(i) for i in range(MAX_ORGANIZATIONS)]),
        user(organizations=[org(i) for i in range(MAX_ORGANIZATIONS)] + [org(3)]),
        user(organizations=[org(i, attrs=attrs_of(MAX_ATTRS)) for i in range(MAX_ORGANIZATIONS)]),
        {"id": "u" * 255},
        {"id": 10**255 - 1},  # 255 digits
        {"id": -(10**253)},  # "-" + 254 digits
        user(name="n" * 255),
        user(organizations=[{"id": "o" * 255, "name": "n" * 255}]),
        user(attrs={"note": "n" * 1000}),
        user(attrs={"k" * 64: 1}),
        user(attrs={"A-z_0.9": 1}),
        user(avatarUrl=AVATAR_2048),
        user(email=EMAIL_254),
        user(attrs={"big": 2**64, "neg": -(2**70), "pi": 3.14, "zero": -0.0, "yes": False}),
        user(avatarUrl="https://cdn.example.com:8443/u/1.png?s=64#x"),
    ],
    ids=[
        "50-attrs",
        "50-null-attrs",
        "10-orgs",
        "11-orgs-with-a-duplicate",
        "10-orgs-with-50-attrs-each",
        "id-255-chars",
        "id-255-digits",
        "negative-id-255-chars",
        "name-255",
        "org-id-and-name-255",
        "attr-value-1000",
        "attr-key-64",
        "attr-key-charset",
        "avatar-2048",
        "email-254",
        "attr-scalars",
        "avatar-port-query-fragment",
    ],
)
def test_limits_accepted(payload: dict[str, Any]) -> None:
    assert isinstance(parse_user_payload(payload), UserPayload)


def test_seed_example_accepted_as_written() -> None:
    assert parse_user_payload(SEED_EXAMPLE) == UserPayload(
        external_id="user-123",
        profile={
            "email": "jane@example.com",
            "name": "Jane Doe",
            "avatar_url": "https://example.com/avatar.jpg",
        },
        attrs={"plan": "pro", "active": True},
        organizations=(OrganizationInput("org-456", "Acme Corp", {"industry": "SaaS"}),),
    )


def test_seed_anonymous_and_jwt_examples() -> None:
    anonymous = parse_user_payload({"id": None})
    assert anonymous.anonymous and anonymous.external_id is None
    assert (anonymous.profile, anonymous.attrs, anonymous.organizations) == ({}, None, None)
    claims = {"id": "user-123", "email": "jane@example.com", "name": "Jane Doe", "exp": 1}
    signed = parse_user_payload(claims, signed=True)
    assert signed.external_id == "user-123" and not signed.anonymous
    assert signed.profile == {"email": "jane@example.com", "name": "Jane Doe"}


def test_anonymous_visitor_may_send_profile_and_attrs() -> None:
    payload = parse_user_payload(
        {"id": None, "email": "jane@example.com", "name": "Jane", "attrs": {"source": "ad"}}
    )
    assert payload.anonymous and payload.organizations is None
    assert payload.profile == {"email": "jane@example.com", "name": "Jane"}
    assert payload.attrs == {"source": "ad"}


def test_integer_ids_equal_their_string() -> None:
    assert parse_user_payload({"id": 123}) == parse_user_payload({"id": "123"})
    assert parse_user_payload({"id": 0}).external_id == "0"
    assert parse_user_payload({"id": -7}).external_id == "-7"
    as_int = parse_user_payload(user(organizations=[{"id": 456, "name": "Acme"}]))
    as_str = parse_user_payload(user(organizations=[{"id": "456", "name": "Acme"}]))
    assert as_int == as_str
    assert as_int.organizations == (OrganizationInput("456", "Acme", {}),)


def test_organizations_deduplicated_last_entry_wins_first_position_kept() -> None:
    payload = parse_user_payload(
        user(
            organizations=[
                {"id": "a", "name": "A1", "attrs": {"x": 1}},
                {"id": "b", "name": "B"},
                {"id": 7, "name": "Seven"},
                {"id": "a", "name": "A2"},
                {"id": "7", "name": "Seven again", "attrs": {"y": 2}},
            ]
        )
    )
    assert payload.organizations == (
        OrganizationInput("a", "A2", {}),
        OrganizationInput("b", "B", {}),
        OrganizationInput("7", "Seven again", {"y": 2}),
    )
    # The index is that of the winning entry, for errors found later (after the merge).
    assert [o.index for o in payload.organizations] == [3, 1, 4]


def test_eleven_distinct_ids_refused_even_when_duplicates_precede_them() -> None:
    entries = [org(0), org(0)] + [org(i) for i in range(1, MAX_ORGANIZATIONS + 1)]
    error = parse_error(user(organizations=entries))
    assert (error.code, error.field) == ("too_many_organizations", "organizations")
    assert "11" in error.message


def test_empty_organizations_means_remove_all_memberships() -> None:
    assert parse_user_payload(user(organizations=[])).organizations == ()


def test_null_clears_and_absent_leaves_alone() -> None:
    cleared = parse_user_payload(user(email=None, name=None, avatarUrl=None))
    assert cleared.profile == {"email": None, "name": None, "avatar_url": None}
    absent = parse_user_payload(user())
    assert (absent.profile, absent.attrs, absent.organizations) == ({}, None, None)
    partial = parse_user_payload(user(name="Jane", attrs={"plan": None, "seats": 3}))
    assert partial.profile == {"name": "Jane"}
    assert partial.attrs == {"plan": None, "seats": 3}


def test_email_is_stored_normalized() -> None:
    payload = parse_user_payload(user(email="Jane.Doe@EXAMPLE.COM"))
    assert payload.profile == {"email": "Jane.Doe@example.com"}


def test_signed_registered_claims_are_ignored_not_stored() -> None:
    claims = {name: 1 for name in REGISTERED_CLAIMS} | {"id": "user-1", "attrs": {"plan": "pro"}}
    payload = parse_user_payload(claims, signed=True)
    assert payload == UserPayload("user-1", {}, {"plan": "pro"}, None)


def test_signed_and_unsigned_agree_on_the_user_fields() -> None:
    assert parse_user_payload(SEED_EXAMPLE, signed=True) == parse_user_payload(SEED_EXAMPLE)


def test_org_attrs_default_to_empty_and_keep_nulls() -> None:
    payload = parse_user_payload(user(organizations=[org(1), org(2, attrs={"tier": None})]))
    assert payload.organizations == (
        OrganizationInput("org-1", "Org 1", {}),
        OrganizationInput("org-2", "Org 2", {"tier": None}),
    )


def test_merge_attrs_applies_values_and_null_deletes_without_mutating() -> None:
    stored = {"plan": "free", "seats": 1, "beta": True}
    merged = merge_attrs(stored, {"plan": "pro", "beta": None, "gone": None, "new": 2.5})
    assert merged == {"plan": "pro", "seats": 1, "new": 2.5}
    assert stored == {"plan": "free", "seats": 1, "beta": True}
    assert merge_attrs({}, {}) == {}


def test_check_attr_count_after_merge() -> None:
    check_attr_count(attrs_of(MAX_ATTRS), "attrs")
    merged = merge_attrs(attrs_of(40), {f"n{i}": i for i in range(11)})
    with pytest.raises(ApiError) as info:
        check_attr_count(merged, "organizations[2].attrs")
    error = info.value
    assert (error.code, error.field, error.status) == (
        "too_many_attrs",
        "organizations[2].attrs",
        422,
    )
    assert "51" in error.message and "null" in error.message
    # Deleting with nulls in the same request brings the count back under the limit.
    check_attr_count(merge_attrs(merged, {"k0": None}), "attrs")
