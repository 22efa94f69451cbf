"""Signed identification through the HTTP API: keys, claims, one-time jti, rotation grace."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from promptify.extensions import db
from promptify.models import IdentifyFailure, UsedJti
from tests.factories import (
    KEY_TYPE_OF_ALG,
    add_key,
    identify,
    make_private_key,
    make_workspace,
    sign,
    stored_contacts,
)


@pytest.fixture
def app_id(app):
    return make_workspace(app)


@pytest.fixture
def ed_key(app, app_id):
    key = make_private_key("Ed25519")
    add_key(app, app_id, key)
    return key


def _claims(clock, **extra):
    return {"id": "user-123", "exp": int(clock.current.timestamp()) + 300, **extra}


def _assert_refused(response, status, code):
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519", "ES256", "PS256", "RS256"])
def test_each_algorithm_identifies_a_verified_contact(client, app, app_id, clock, alg):
    key = make_private_key(KEY_TYPE_OF_ALG[alg])
    add_key(app, app_id, key)
    token = sign(key, _claims(clock, email="jane@example.com", attrs={"plan": "pro"}), alg=alg)
    response = identify(client, app_id, {"jwt": token})
    assert response.status_code == 200, response.json
    contact = response.json["contact"]
    assert (contact["id"], contact["verified"], contact["email"]) == (
        "user-123",
        True,
        "jane@example.com",
    )
    assert contact["attrs"] == {"plan": "pro"}  # registered claims are not stored as attrs


def test_jwt_must_come_alone_and_be_a_string(client, app, app_id, ed_key, clock):
    token = sign(ed_key, _claims(clock))
    response = identify(client, app_id, {"jwt": token, "email": "x@example.com"})
    _assert_refused(response, 422, "invalid_field")
    assert response.json["error"]["field"] == "email"
    _assert_refused(identify(client, app_id, {"jwt": 42}), 422, "invalid_field")
    _assert_refused(identify(client, app_id, {"jwt": ""}), 401, "jwt_malformed")
    _assert_refused(identify(client, app_id, {"jwt": "not.a-token"}), 401, "jwt_malformed")
    assert stored_contacts(app) == []


def test_no_key_at_all_is_no_matching_key(client, app_id, clock):
    token = sign(make_private_key("Ed25519"), _claims(clock))
    _assert_refused(identify(client, app_id, {"jwt": token}), 401, "jwt_no_matching_key")


def test_wrong_key_of_the_right_type_is_bad_signature(client, app_id, ed_key, clock):
    token = sign(make_private_key("Ed25519"), _claims(clock))
    _assert_refused(identify(client, app_id, {"jwt": token}), 401, "jwt_bad_signature")


def test_alg_of_another_key_type_is_no_matching_key(client, app_id, ed_key, clock):
    token = sign(make_private_key("P-256"), _claims(clock), alg="ES256")
    _assert_refused(identify(client, app_id, {"jwt": token}), 401, "jwt_no_matching_key")


def test_expiry_with_leeway(client, app_id, ed_key, clock):
    token = sign(ed_key, _claims(clock))
    clock.advance(seconds=300 + 29)
    assert identify(client, app_id, {"jwt": token}).status_code == 200
    clock.advance(seconds=2)
    _assert_refused(identify(client, app_id, {"jwt": token}), 401, "jwt_expired")


def test_exp_is_required_and_capped(client, app_id, ed_key, clock):
    _assert_refused(
        identify(client, app_id, {"jwt": sign(ed_key, {"id": "u"})}), 401, "jwt_missing_exp"
    )
    far = sign(ed_key, {"id": "u", "exp": int(clock.current.timestamp()) + 86400 + 3600})
    _assert_refused(identify(client, app_id, {"jwt": far}), 401, "jwt_invalid_claims")


def test_not_yet_valid(client, app_id, ed_key, clock):
    future = int(clock.current.timestamp()) + 120
    _assert_refused(
        identify(client, app_id, {"jwt": sign(ed_key, _claims(clock, nbf=future))}),
        401,
        "jwt_not_yet_valid",
    )
    _assert_refused(
        identify(client, app_id, {"jwt": sign(ed_key, _claims(clock, iat=future))}),
        401,
        "jwt_not_yet_valid",
    )


def test_audience_binds_the_token_to_this_workspace(client, app, app_id, ed_key, clock):
    other_app = make_workspace(app)
    _assert_refused(
        identify(client, app_id, {"jwt": sign(ed_key, _claims(clock, aud=other_app))}),
        401,
        "jwt_invalid_claims",
    )
    assert (
        identify(
            client, app_id, {"jwt": sign(ed_key, _claims(clock, aud=[other_app, app_id]))}
        ).status_code
        == 200
    )


def test_payload_rules_apply_inside_the_token(client, app, app_id, ed_key, clock):
    response = identify(
        client, app_id, {"jwt": sign(ed_key, _claims(clock, avatarUrl="http://x.test/a.png"))}
    )
    _assert_refused(response, 422, "invalid_field")
    assert response.json["error"]["field"] == "avatarUrl"
    null_id = identify(client, app_id, {"jwt": sign(ed_key, _claims(clock, id=None))})
    _assert_refused(null_id, 422, "invalid_field")
    assert stored_contacts(app) == []


def test_jti_is_one_time(client, app, app_id, ed_key, clock):
    token = sign(ed_key, _claims(clock, jti="abc-1"))
    assert identify(client, app_id, {"jwt": token}).status_code == 200
    before = stored_contacts(app)
    _assert_refused(identify(client, app_id, {"jwt": token}), 401, "jwt_replayed")
    assert stored_contacts(app) == before


def test_jti_is_consumed_only_by_a_successful_request(client, app_id, ed_key, clock):
    bad = sign(ed_key, _claims(clock, jti="same", attrs={"x": {"nested": 1}}))
    _assert_refused(identify(client, app_id, {"jwt": bad}), 422, "invalid_field")
    good = sign(ed_key, _claims(clock, jti="same"))
    assert identify(client, app_id, {"jwt": good}).status_code == 200


def test_jti_may_be_reused_after_the_first_token_expired(client, app, app_id, ed_key, clock):
    assert (
        identify(client, app_id, {"jwt": sign(ed_key, _claims(clock, jti="j"))}).status_code == 200
    )
    clock.advance(seconds=300 + 31)
    assert (
        identify(client, app_id, {"jwt": sign(ed_key, _claims(clock, jti="j"))}).status_code == 200
    )
    with app.app_context():
        assert len(db.session.scalars(select(UsedJti)).all()) == 1


def test_jti_is_per_workspace(client, app, app_id, ed_key, clock):
    other_app = make_workspace(app)
    add_key(app, other_app, ed_key)
    token = sign(ed_key, _claims(clock, jti="shared"))
    assert identify(client, app_id, {"jwt": token}).status_code == 200
    assert identify(client, other_app, {"jwt": token}).status_code == 200


def test_verified_contact_cannot_be_identified_unsigned(client, app, app_id, ed_key, clock):
    assert identify(client, app_id, {"jwt": sign(ed_key, _claims(clock))}).status_code == 200
    before = stored_contacts(app)
    response = identify(client, app_id, {"id": "user-123", "email": "attacker@example.com"})
    _assert_refused(response, 403, "verified_contact_requires_jwt")
    assert identify(client, app_id, {"id": 123}).status_code == 200  # a different user id
    assert [c for c in stored_contacts(app) if c["id"] == "user-123"] == before


def test_signed_identification_works_when_required(client, app, clock):
    app_id = make_workspace(app, require_jwt=True)
    key = make_private_key("P-256")
    add_key(app, app_id, key)
    response = identify(client, app_id, {"jwt": sign(key, _claims(clock), alg="ES256")})
    assert response.status_code == 200 and response.json["contact"]["verified"] is True


def test_anonymous_visitor_merges_into_a_verified_user(client, app, app_id, ed_key, clock):
    anonymous = identify(client, app_id, {"id": None, "email": "typed@example.com"})
    response = identify(
        client, app_id, {"jwt": sign(ed_key, _claims(clock))}, session=anonymous.json["session"]
    )
    assert response.status_code == 200
    assert response.json["contact"]["email"] == "typed@example.com"
    assert response.json["contact"]["verified"] is True
    assert len(stored_contacts(app)) == 1


def test_unsigned_then_signed_keeps_the_session(client, app_id, ed_key, clock):
    unsigned = identify(client, app_id, {"id": "user-123"})
    signed = identify(
        client, app_id, {"jwt": sign(ed_key, _claims(clock))}, session=unsigned.json["session"]
    )
    assert signed.json["session"] == unsigned.json["session"]
    assert signed.json["contact"]["verified"] is True


def test_unchanged_signed_identify_rewrites_nothing(client, app, app_id, ed_key, clock):
    first = identify(client, app_id, {"jwt": sign(ed_key, _claims(clock, name="Ann"))})
    before = stored_contacts(app)
    clock.advance(seconds=10)
    again = identify(
        client,
        app_id,
        {"jwt": sign(ed_key, _claims(clock, name="Ann"))},
        session=first.json["session"],
    )
    assert again.json == first.json
    assert stored_contacts(app) == before


def test_failures_keep_header_and_claims_but_never_the_signature(
    client, app, app_id, ed_key, clock
):
    token = sign(
        make_private_key("Ed25519"), _claims(clock, email="jane@example.com"), kid="my-kid"
    )
    identify(client, app_id, {"jwt": token}, Origin="https://app.test")
    with app.app_context():
        failure = db.session.scalar(select(IdentifyFailure))
        assert failure.code == "jwt_bad_signature"
        assert failure.token_header == {"alg": "Ed25519", "kid": "my-kid", "typ": "JWT"}
        assert failure.token_claims["id"] == "user-123"
        signature = token.rsplit(".", 1)[1]
        stored = repr((failure.message, failure.field, failure.token_header, failure.token_claims))
        assert signature not in stored and token not in stored


# --- rotation (docs/identification.md, "Key rotation") with a controlled clock ----------------


def test_replaced_key_stays_valid_for_two_hours(client, app, app_id, clock):
    old, new = make_private_key("Ed25519"), make_private_key("Ed25519")
    add_key(app, app_id, old)
    add_key(app, app_id, new)
    clock.advance(hours=1, minutes=59)
    assert identify(client, app_id, {"jwt": sign(old, _claims(clock))}).status_code == 200
    clock.advance(minutes=2)
    _assert_refused(
        identify(client, app_id, {"jwt": sign(old, _claims(clock))}), 401, "jwt_bad_signature"
    )
    assert identify(client, app_id, {"jwt": sign(new, _claims(clock))}).status_code == 200


def test_expired_key_of_another_type_is_no_matching_key(client, app, app_id, clock):
    old, new = make_private_key("P-256"), make_private_key("Ed25519")
    add_key(app, app_id, old)
    add_key(app, app_id, new)
    clock.advance(hours=2, minutes=1)
    _assert_refused(
        identify(client, app_id, {"jwt": sign(old, _claims(clock), alg="ES256")}),
        401,
        "jwt_no_matching_key",
    )


def test_replacing_twice_does_not_extend_the_first_key(client, app, app_id, clock):
    first, second, third = (make_private_key("Ed25519") for _ in range(3))
    add_key(app, app_id, first)
    add_key(app, app_id, second)
    clock.advance(hours=1)
    add_key(app, app_id, third)
    clock.advance(minutes=61)  # 2 h 01 min after the first replacement
    _assert_refused(
        identify(client, app_id, {"jwt": sign(first, _claims(clock))}), 401, "jwt_bad_signature"
    )
    assert identify(client, app_id, {"jwt": sign(second, _claims(clock))}).status_code == 200


def test_revoke_ends_the_grace_at_once(client, app, app_id, clock, runner):
    old, new = make_private_key("Ed25519"), make_private_key("Ed25519")
    thumbprint = add_key(app, app_id, old)
    add_key(app, app_id, new)
    assert identify(client, app_id, {"jwt": sign(old, _claims(clock))}).status_code == 200
    assert runner.invoke(args=["keys", "revoke", app_id, thumbprint]).exit_code == 0
    _assert_refused(
        identify(client, app_id, {"jwt": sign(old, _claims(clock))}), 401, "jwt_bad_signature"
    )


def test_revoking_the_current_key_leaves_no_usable_key(client, app, app_id, ed_key, clock, runner):
    thumbprint = runner.invoke(args=["keys", "list", app_id]).stdout.split("\t")[0]
    assert runner.invoke(args=["keys", "revoke", app_id, thumbprint]).exit_code == 0
    _assert_refused(
        identify(client, app_id, {"jwt": sign(ed_key, _claims(clock))}), 401, "jwt_no_matching_key"
    )


def test_kid_hint_is_optional_and_unknown_kids_are_fine(client, app, app_id, ed_key, clock):
    thumbprint = add_key(app, app_id, ed_key)
    assert (
        identify(client, app_id, {"jwt": sign(ed_key, _claims(clock), kid=thumbprint)}).status_code
        == 200
    )
    assert (
        identify(
            client, app_id, {"jwt": sign(ed_key, _claims(clock), kid="whatever-1")}
        ).status_code
        == 200
    )


def test_grace_setting_is_configurable(client, app, app_id, clock):
    app.config["KEY_GRACE_SECONDS"] = 60
    old, new = make_private_key("Ed25519"), make_private_key("Ed25519")
    add_key(app, app_id, old)
    add_key(app, app_id, new)
    clock.advance(seconds=61)
    _assert_refused(
        identify(client, app_id, {"jwt": sign(old, _claims(clock))}), 401, "jwt_bad_signature"
    )
