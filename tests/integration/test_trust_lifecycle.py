"""The trust lifecycle (docs/security.md): verified sessions lapse with their proof, cascades end
sessions, provenance, verified organizations, email claims. A controllable clock, both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from promptify.blueprints.widget.schemas import iso
from promptify.extensions import db
from promptify.models import Contact, Conversation, IdentifyFailure, Message, Organization
from tests.conftest import settings_form_fields
from tests.factories import (
    add_key,
    identify,
    make_private_key,
    make_workspace,
    sign,
    stored_contacts,
)

BASE = "/settings/messenger/security"
HX = {"HX-Request": "true"}


@pytest.fixture
def app_id(app):
    return make_workspace(app)


@pytest.fixture
def key(app, app_id):
    private = make_private_key("Ed25519")
    add_key(app, app_id, private)
    return private


@pytest.fixture
def admin(client, login, csrf, app_id):
    """Sign in as an admin; returns a function posting a Security form with a CSRF token."""
    login("admin")

    def post(path, data=None):
        return client.post(
            f"{BASE}{path}", data={**settings_form_fields(client, BASE), **(data or {})}
        )

    return post


def _token(key, clock, user="u1", **claims):
    return sign(key, {"id": user, "exp": int(clock.current.timestamp()) + 300, **claims})


def _signed(client, app_id, key, clock, user="u1", session=None, **claims):
    response = identify(
        client, app_id, {"jwt": _token(key, clock, user, **claims)}, session=session
    )
    assert response.status_code == 200, response.json
    return response


def _conversations(client, app_id, session):
    return client.get(
        f"/widget/v1/apps/{app_id}/conversations", headers={"X-Promptify-Session": session}
    )


def _post(client, app_id, session, body="Hello"):
    return client.post(
        f"/widget/v1/apps/{app_id}/conversations",
        json={"body": body},
        headers={"X-Promptify-Session": session},
    )


def _expired(response):
    assert response.status_code == 401, response.json
    assert response.json["error"]["code"] == "session_expired"
    assert "setTokenProvider" in response.json["error"]["message"]


def _thumbprint(app, app_id, private):
    return add_key(app, app_id, private)  # re-adding the current key is a no-op that returns it


# --- lapse and renewal ---------------------------------------------------------------------


def test_identify_answers_verified_until_only_for_verified_sessions(client, app_id, key, clock):
    signed = _signed(client, app_id, key, clock)
    assert signed.json["verifiedUntil"] == iso(clock.current + timedelta(seconds=3600))
    assert identify(client, app_id, {"id": "u2"}).json["verifiedUntil"] is None
    assert identify(client, app_id, {"id": None}).json["verifiedUntil"] is None


def test_a_verified_session_lapses_an_hour_after_its_last_signed_identify(
    client, app_id, key, clock
):
    session = _signed(client, app_id, key, clock).json["session"]
    assert _post(client, app_id, session).status_code == 201
    clock.advance(seconds=3599)
    assert _conversations(client, app_id, session).status_code == 200
    clock.advance(seconds=1)
    _expired(_conversations(client, app_id, session))
    before = stored_contacts(client.application)
    _expired(_post(client, app_id, session, "lost?"))
    assert stored_contacts(client.application) == before
    with client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message)) == 1  # nothing written

    renewed = _signed(client, app_id, key, clock, session=session)
    assert renewed.json["session"] == session  # same contact → same session token
    assert renewed.json["verifiedUntil"] == iso(clock.current + timedelta(seconds=3600))
    assert _conversations(client, app_id, session).status_code == 200


def test_signed_identifies_renew_the_session_and_keep_its_token(client, app_id, key, clock):
    session = _signed(client, app_id, key, clock).json["session"]
    for _ in range(3):
        clock.advance(seconds=1800)
        again = _signed(client, app_id, key, clock, session=session)
        assert again.json["session"] == session
        assert again.json["verifiedUntil"] == iso(clock.current + timedelta(seconds=3600))
    assert _conversations(client, app_id, session).status_code == 200  # 90 min after the first


def test_the_verified_lifetime_is_configurable(app, client, app_id, key, clock):
    app.config["VERIFIED_SESSION_SECONDS"] = 120
    session = _signed(client, app_id, key, clock).json["session"]
    clock.advance(seconds=121)
    _expired(_conversations(client, app_id, session))


def test_an_identify_on_a_lapsed_session_is_a_logout_or_a_switch_like_any_other(
    client, app_id, key, clock
):
    session = _signed(client, app_id, key, clock).json["session"]
    clock.advance(hours=2)
    logout = identify(client, app_id, {"id": None}, session=session)
    assert logout.json["session"] != session and logout.json["contact"]["id"] is None
    other = _signed(client, app_id, key, clock).json["session"]
    clock.advance(hours=2)
    switch = _signed(client, app_id, key, clock, user="u2", session=other)
    assert switch.json["session"] != other and switch.json["contact"]["id"] == "u2"
    assert _conversations(client, app_id, other).json["error"]["code"] == "session_required"


def test_unknown_sessions_still_answer_session_required(client, app_id):
    response = _conversations(client, app_id, "no-such-session")
    assert (response.status_code, response.json["error"]["code"]) == (401, "session_required")


# --- keys: revoke ends, replace does not ---------------------------------------------------


def test_revoking_a_key_ends_the_sessions_it_verified_and_says_how_many(
    app, client, admin, app_id, key, clock
):
    first = _signed(client, app_id, key, clock, user="u1").json["session"]
    second = _signed(client, app_id, key, clock, user="u2").json["session"]
    anonymous = identify(client, app_id, {"id": None}).json["session"]
    unsigned = identify(client, app_id, {"id": "u3"}).json["session"]
    other_key = make_private_key("P-256")
    new_thumbprint = add_key(app, app_id, other_key)  # replacing ends nothing
    es256 = sign(other_key, {"id": "u4", "exp": int(clock.current.timestamp()) + 60}, alg="ES256")
    third = identify(client, app_id, {"jwt": es256}).json["session"]
    for session in (first, second, anonymous, unsigned, third):
        assert _conversations(client, app_id, session).status_code == 200

    with app.app_context():
        from promptify.models import SigningKey

        old_thumbprint = db.session.scalar(
            select(SigningKey.thumbprint).where(SigningKey.thumbprint != new_thumbprint)
        )
    response = admin("/keys/revoke", {"thumbprint": old_thumbprint, "confirm": "y"})
    assert response.status_code == 303
    page = client.get(BASE).get_data(as_text=True)
    assert "the 2 sessions it verified have ended" in page
    for session in (first, second):
        _expired(_conversations(client, app_id, session))
    for session in (anonymous, unsigned, third):
        assert _conversations(client, app_id, session).status_code == 200


def test_the_cli_revoke_says_how_many_sessions_it_ended(app, client, runner, app_id, key, clock):
    session = _signed(client, app_id, key, clock).json["session"]
    thumbprint = _thumbprint(app, app_id, key)
    result = runner.invoke(args=["keys", "revoke", app_id, thumbprint])
    assert result.exit_code == 0, result.output
    assert "ended 1 session(s)" in result.stderr
    _expired(_conversations(client, app_id, session))


def test_a_session_verified_by_a_replaced_key_lapses_with_its_grace(
    app, client, app_id, key, clock
):
    app.config["KEY_GRACE_SECONDS"] = 600  # shorter than the verified lifetime
    session = _signed(client, app_id, key, clock).json["session"]
    add_key(app, app_id, make_private_key("Ed25519"))
    clock.advance(seconds=599)
    assert _conversations(client, app_id, session).status_code == 200
    renewed = _signed(
        client, app_id, key, clock, session=session
    )  # the retiring key still verifies…
    assert renewed.json["verifiedUntil"] == iso(
        clock.current + timedelta(seconds=1)
    )  # …until its grace ends
    clock.advance(seconds=1)
    _expired(_conversations(client, app_id, session))


def test_a_revoked_key_ends_sessions_even_those_written_after_the_cascade(
    app, client, app_id, key, clock
):
    """The key is read with the session on every call, so a session recorded by a request that
    raced the revocation cannot outlive it."""
    session = _signed(client, app_id, key, clock).json["session"]
    with app.app_context():
        from promptify.models import SigningKey

        db.session.execute(
            SigningKey.__table__.update().values(revoked_at=clock.current)
        )  # no cascade
        db.session.commit()
    _expired(_conversations(client, app_id, session))


# --- a contact that becomes verified; require-JWT ------------------------------------------


def test_a_contact_that_becomes_verified_ends_its_unverified_sessions(client, app_id, key, clock):
    own = identify(client, app_id, {"id": "u1", "name": "Jane"}).json["session"]
    impostor = identify(client, app_id, {"id": "u1"}).json["session"]
    conversation = _post(client, app_id, impostor, "written before the real sign-in")
    assert conversation.status_code == 201

    signed = _signed(client, app_id, key, clock, session=own)
    assert signed.json["session"] == own  # the signing session becomes verified, keeps its token
    assert _conversations(client, app_id, own).status_code == 200
    _expired(_conversations(client, app_id, impostor))
    _expired(_post(client, app_id, impostor, "after"))
    refused = identify(client, app_id, {"id": "u1"}, session=impostor)
    assert refused.json["error"]["code"] == "verified_contact_requires_jwt"
    logout = identify(client, app_id, {"id": None}, session=impostor)
    assert logout.status_code == 200 and logout.json["session"] != impostor


def test_requiring_signed_identification_ends_unverified_sessions_of_identified_contacts(
    app, client, admin, app_id, key, clock
):
    unsigned = [identify(client, app_id, {"id": f"u{i}"}).json["session"] for i in range(2)]
    anonymous = identify(client, app_id, {"id": None}).json["session"]
    verified = _signed(client, app_id, key, clock, user="v1").json["session"]
    assert admin("/require-jwt", {"require_jwt": "y"}).status_code == 303
    assert "and 2 unverified sessions of identified users ended" in client.get(BASE).get_data(
        as_text=True
    )
    for session in unsigned:
        _expired(_conversations(client, app_id, session))
    assert _conversations(client, app_id, anonymous).status_code == 200
    assert _conversations(client, app_id, verified).status_code == 200


def test_the_cli_require_jwt_says_how_many_sessions_it_ended(app, client, runner, app_id):
    session = identify(client, app_id, {"id": "u1"}).json["session"]
    result = runner.invoke(args=["workspace", "require-jwt", app_id, "on"])
    assert result.exit_code == 0 and "ended 1 unverified session(s)" in result.stderr
    _expired(_conversations(client, app_id, session))


# --- provenance ----------------------------------------------------------------------------


def test_messages_keep_the_thumbprint_behind_their_verified_mark(
    app, client, login, app_id, key, clock
):
    thumbprint = _thumbprint(app, app_id, key)
    verified = _signed(client, app_id, key, clock).json["session"]
    conversation_id = _post(client, app_id, verified, "signed in").json["conversation"]["id"]
    anonymous = identify(client, app_id, {"id": None}).json["session"]
    _post(client, app_id, anonymous, "anonymous")
    with app.app_context():
        stored = {m.body: (m.verified, m.verified_key) for m in db.session.scalars(select(Message))}
    assert stored == {"signed in": (True, thumbprint), "anonymous": (False, None)}
    login("agent")
    thread = client.get(f"/inbox/{conversation_id}", headers=HX).get_data(as_text=True)
    assert (
        f"verified by key {thumbprint}" in thread and f"key <code>{thumbprint[:8]}</code>" in thread
    )


def test_the_security_page_shows_when_each_key_last_verified(
    app, client, admin, app_id, key, clock
):
    _signed(client, app_id, key, clock, user="u1")
    _signed(client, app_id, key, clock, user="u2")
    add_key(app, app_id, make_private_key("Ed25519"))  # the new current key has verified nothing
    page = client.get(BASE).get_data(as_text=True)
    assert "2 sessions verified in the last 24 h" in page
    assert "never verified a token" in page and "0 sessions verified in the last 24 h" in page
    clock.advance(hours=25)
    assert "2 sessions verified" not in client.get(BASE).get_data(as_text=True)


# --- verified organizations and email claims -----------------------------------------------


def test_only_signed_identifies_change_a_verified_organization(
    app, client, login, app_id, key, clock
):
    org = {"id": "o1", "name": "Acme", "attrs": {"tier": "gold"}}
    _signed(client, app_id, key, clock, user="u1", organizations=[org])
    evil = {"id": "o1", "name": "Evil", "attrs": {"tier": "free", "x": 1}}
    unsigned = identify(client, app_id, {"id": "u2", "organizations": [evil]})
    assert unsigned.status_code == 200
    assert unsigned.json["contact"]["organizations"] == [
        {"id": "o1", "name": "Acme", "attrs": {"tier": "gold"}}
    ]
    with app.app_context():
        stored = db.session.scalar(select(Organization))
        assert (stored.name, stored.attrs, stored.verified) == ("Acme", {"tier": "gold"}, True)
    conversation_id = _post(client, app_id, unsigned.json["session"]).json["conversation"]["id"]
    login("agent")
    panel = client.get(f"/inbox/{conversation_id}", headers=HX).get_data(as_text=True)
    assert "membership claimed by an unverified contact" in panel

    renamed = _signed(
        client, app_id, key, clock, user="u1", organizations=[{**org, "name": "Acme Inc"}]
    )
    assert renamed.json["contact"]["organizations"][0]["name"] == "Acme Inc"


def test_unsigned_organizations_stay_unverified_and_editable(client, app_id):
    identify(client, app_id, {"id": "u1", "organizations": [{"id": "o1", "name": "Acme"}]})
    again = identify(
        client, app_id, {"id": "u2", "organizations": [{"id": "o1", "name": "Acme 2"}]}
    )
    assert again.json["contact"]["organizations"][0]["name"] == "Acme 2"


def test_a_typed_email_of_a_verified_user_is_shown_as_a_claim_never_linked(
    app, client, login, app_id, key, clock
):
    _signed(client, app_id, key, clock, user="u1", email="jane@example.com")
    typed = identify(client, app_id, {"id": None, "email": "jane@example.com"}).json["session"]
    conversation_id = _post(client, app_id, typed).json["conversation"]["id"]
    unsigned = identify(client, app_id, {"id": "u2", "email": "jane@example.com"}).json["session"]
    other_id = _post(client, app_id, unsigned).json["conversation"]["id"]
    with app.app_context():
        contacts = {
            c.external_id: (c.email, c.email_verified) for c in db.session.scalars(select(Contact))
        }
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(
                    Conversation.contact_id
                    == select(Contact.id).where(Contact.external_id == "u1").scalar_subquery()
                )
            )
            == 0
        )  # nothing merged or linked by email
    assert contacts == {
        "u1": ("jane@example.com", True),
        None: ("jane@example.com", False),
        "u2": ("jane@example.com", False),
    }
    login("agent")
    for cid in (conversation_id, other_id):
        panel = client.get(f"/inbox/{cid}", headers=HX).get_data(as_text=True)
        assert "claimed, not proven — belongs to verified user" in panel and ">u1<" in panel


def test_the_verified_users_own_email_is_no_claim(app, client, login, app_id, key, clock):
    session = _signed(client, app_id, key, clock, user="u1", email="jane@example.com").json[
        "session"
    ]
    identify(client, app_id, {"id": None, "email": "jane@example.com"})
    conversation_id = _post(client, app_id, session).json["conversation"]["id"]
    login("agent")
    assert "claimed, not proven" not in client.get(
        f"/inbox/{conversation_id}", headers=HX
    ).get_data(as_text=True)


@pytest.mark.parametrize("email", ["jane@staging.test", "jane@box.local", "jane@app.localhost"])
def test_special_use_domains_are_valid_for_staging(client, app_id, email):
    response = identify(client, app_id, {"id": "u1", "email": email})
    assert response.status_code == 200, response.json
    assert response.json["contact"]["email"] == email


def test_domains_that_never_receive_mail_are_still_refused(client, app_id):
    response = identify(client, app_id, {"id": "u1", "email": "jane@example.invalid"})
    assert (response.status_code, response.json["error"]["field"]) == (422, "email")


# --- diagnostics ---------------------------------------------------------------------------


def test_the_failure_log_keeps_claims_as_json(app, client, admin, app_id, key, clock):
    claims = {
        "id": "u1",
        "exp": int(clock.current.timestamp()) - 3600,
        "attrs": {"plan": "team", "seats": [1, 2]},
    }
    refused = identify(client, app_id, {"jwt": sign(key, claims)})
    assert refused.json["error"]["code"] == "jwt_expired"
    with app.app_context():
        failure = db.session.scalar(select(IdentifyFailure))
        assert failure.token_claims["attrs"] == {"plan": "team", "seats": [1, 2]}
        assert failure.token_header["alg"] == "Ed25519"
    page = client.get(BASE).get_data(as_text=True)
    assert "&#34;plan&#34;: &#34;team&#34;" in page or "&quot;plan&quot;: &quot;team&quot;" in page
    assert "{'plan'" not in page and "{&#39;plan&#39;" not in page


def test_the_side_panel_shows_a_refused_identification_of_the_visitor(
    app, client, login, app_id, key, clock
):
    session = identify(client, app_id, {"id": None}).json["session"]
    conversation_id = _post(client, app_id, session).json["conversation"]["id"]
    expired = sign(key, {"id": "u1", "exp": int(clock.current.timestamp()) - 3600})
    assert (
        identify(client, app_id, {"jwt": expired}, session=session).json["error"]["code"]
        == "jwt_expired"
    )
    login("admin")
    panel = client.get(f"/inbox/{conversation_id}", headers=HX).get_data(as_text=True)
    assert (
        "Identification refused" in panel and "jwt_expired" in panel and f"{BASE}#failures" in panel
    )
    other = _post(client, app_id, identify(client, app_id, {"id": None}).json["session"]).json[
        "conversation"
    ]["id"]
    assert "Identification refused" not in client.get(f"/inbox/{other}", headers=HX).get_data(
        as_text=True
    )


def test_the_organization_page_marks_claimed_memberships(app, client, login, app_id, key, clock):
    _signed(client, app_id, key, clock, user="u1", organizations=[{"id": "o1", "name": "Acme"}])
    identify(client, app_id, {"id": "u2", "organizations": [{"id": "o1", "name": "Acme"}]})
    with app.app_context():
        organization_id = db.session.scalar(select(Organization.id))
    login("agent")
    page = client.get(f"/organizations/{organization_id}").get_data(as_text=True)
    assert "✓ verified organization" in page and page.count("membership claimed") == 1
