"""Trust races across processes (gunicorn, 2 workers × 4 threads), on SQLite and PostgreSQL
(docs/security.md, "Concurrency guarantees"; docs/operations.md, "SQLite"):

- concurrent identifies of one contact or one organization keep every accepted merge;
- the verified lock holds: an unsigned identify racing a signed one for the same id either
  completes before it (and its session is then ended) or is refused;
- nothing is lost while a visitor signs in: a conversation call racing the merge of its
  anonymous session lands before the merge (and moves over) or answers `session_required`;
- a client that sends its headers and withholds its body holds no database lock.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import Contact, Conversation, Membership, Message, Organization, WidgetSession
from promptify.services import operators
from promptify.services.sessions import SESSION_HEADER
from tests.conftest import csrf_token_from
from tests.factories import add_key, make_private_key, make_workspace, sign

TIMEOUT = 60  # seconds; a request that needs this long has failed the test long before


def _race(senders: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run every sender in its own thread, all released at the same moment; results in order."""
    barrier = threading.Barrier(len(senders))

    def run(send: Callable[[], Any]) -> Any:
        barrier.wait()
        return send()

    with ThreadPoolExecutor(max_workers=len(senders)) as pool:
        return list(pool.map(run, senders))


def _identify(
    base: str, app_id: str, body: dict[str, Any], session: str | None = None
) -> requests.Response:
    headers = {SESSION_HEADER: session} if session is not None else {}
    return requests.post(
        f"{base}/widget/v1/apps/{app_id}/identify", json=body, headers=headers, timeout=TIMEOUT
    )


def _post(base: str, app_id: str, path: str, session: str, body: str) -> requests.Response:
    return requests.post(
        f"{base}/widget/v1/apps/{app_id}/{path}",
        json={"body": body},
        headers={SESSION_HEADER: session},
        timeout=TIMEOUT,
    )


def _list_conversations(base: str, app_id: str, session: str) -> requests.Response:
    return requests.get(
        f"{base}/widget/v1/apps/{app_id}/conversations",
        headers={SESSION_HEADER: session},
        timeout=TIMEOUT,
    )


def _is(response: requests.Response, status: int, code: str | None = None) -> bool:
    return response.status_code == status and (code is None or _code(response) == code)


def _code(response: requests.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _describe(responses: Sequence[requests.Response]) -> list[str]:
    return [f"{r.status_code} {r.text[:300]}" for r in responses]


def _contact(app: Flask, external_id: str) -> Contact:
    """The stored contact, detached, to read its columns after the app context ends."""
    with app.app_context():
        contact = db.session.scalar(select(Contact).where(Contact.external_id == external_id))
        assert contact is not None, f"no contact {external_id!r}"
        db.session.expunge(contact)
        return contact


def _token(key: Any, claims: dict[str, Any]) -> str:
    return sign(key, {**claims, "exp": int(time.time()) + 300})


# --- no lost update: every 200's changes are kept -------------------------------------------


def test_twenty_concurrent_identifies_of_one_user_keep_every_attr(app, live_server):
    app_id = make_workspace(app)
    first = _identify(live_server, app_id, {"id": "u1", "attrs": {"before": "kept"}})
    assert first.status_code == 200, first.text
    session = first.json()["session"]

    def sender(i: int) -> Callable[[], requests.Response]:
        body = {"id": "u1", "attrs": {f"k{i}": i}}
        # half are further tabs of the same session, half are fresh page loads without one
        return lambda: _identify(live_server, app_id, body, session if i % 2 else None)

    responses = _race([sender(i) for i in range(20)])

    assert [r.status_code for r in responses] == [200] * 20, _describe(responses)
    for i, response in enumerate(responses):
        assert response.json()["contact"]["attrs"][f"k{i}"] == i
        if i % 2:
            assert response.json()["session"] == session  # same contact → same session
    stored = _contact(app, "u1").attrs
    assert stored == {"before": "kept", **{f"k{i}": i for i in range(20)}}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 1


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_twenty_members_of_one_organization_identified_at_once_keep_every_org_attr(
    app, live_server, signed
):
    app_id = make_workspace(app)
    key = make_private_key("Ed25519")
    if signed:
        add_key(app, app_id, key)

    def sender(i: int) -> Callable[[], requests.Response]:
        organization = {"id": "org-1", "name": "Org", "attrs": {f"k{i}": i}}
        user = {"id": f"member-{i}", "organizations": [organization]}
        body = {"jwt": _token(key, user)} if signed else user
        return lambda: _identify(live_server, app_id, body)

    responses = _race([sender(i) for i in range(20)])

    assert [r.status_code for r in responses] == [200] * 20, _describe(responses)
    for i, response in enumerate(responses):
        assert response.json()["contact"]["organizations"][0]["attrs"][f"k{i}"] == i
    with app.app_context():
        organizations = db.session.scalars(select(Organization)).all()
        assert [o.external_id for o in organizations] == ["org-1"]
        assert organizations[0].attrs == {f"k{i}": i for i in range(20)}
        assert organizations[0].verified is signed
        assert db.session.scalar(select(func.count()).select_from(Membership)) == 20
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 20


# --- nothing is lost while a visitor signs in ----------------------------------------------

SIGN_IN_ROUNDS = 5
POSTERS = 12  # threads posting on the anonymous session while it is merged
POSTS_PER_POSTER = 6  # each stops at its first refusal; bounded for the per-address rate limit

Posted = tuple[str, requests.Response]  # (path, answer)


def _post_until_merged(
    base: str, app_id: str, session: str, conversation_id: int, worker: int
) -> list[Posted]:
    """Post on the anonymous session until it is gone: some land before the merge, some after.
    Every third worker starts new conversations, the others write in the existing one."""
    path = "conversations" if worker % 3 == 0 else f"conversations/{conversation_id}/messages"
    results = []
    for n in range(POSTS_PER_POSTER):
        response = _post(base, app_id, path, session, f"worker {worker} message {n}")
        results.append((path, response))
        if response.status_code != 201:
            break
    return results


def _assert_kept_by(app: Flask, user_id: str, messages: set[int], conversations: set[int]) -> None:
    """Every accepted message and conversation exists and belongs to the identified contact;
    no anonymous contact is left."""
    with app.app_context():
        identified = db.session.scalar(select(Contact.id).where(Contact.external_id == user_id))
        owner_of_message = dict(
            db.session.execute(
                select(Message.id, Conversation.contact_id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Message.id.in_(messages))
            ).all()
        )
        lost = messages - set(owner_of_message)
        assert not lost, f"answered 201, then lost: {lost}"
        assert set(owner_of_message.values()) == {identified}, (
            "a message stayed with the anonymous visitor"
        )
        owners = db.session.scalars(
            select(Conversation.contact_id).where(Conversation.id.in_(conversations))
        )
        assert set(owners) == {identified}
        anonymous = select(func.count()).select_from(Contact).where(Contact.external_id.is_(None))
        assert db.session.scalar(anonymous) == 0


def _sign_in_round(app: Flask, base: str, app_id: str, user_id: str) -> None:
    anonymous = _identify(base, app_id, {"id": None})
    assert anonymous.status_code == 200, anonymous.text
    session = anonymous.json()["session"]
    started = _post(base, app_id, "conversations", session, "Hello before signing in")
    assert started.status_code == 201, started.text
    conversation_id = started.json()["conversation"]["id"]

    senders: list[Callable[[], list[Posted]]] = [
        lambda: [("identify", _identify(base, app_id, {"id": user_id}, session))]
    ]
    senders += [
        (lambda w=w: _post_until_merged(base, app_id, session, conversation_id, w))
        for w in range(POSTERS)
    ]
    merge, *posted = [pair for batch in _race(senders) for pair in batch]

    assert merge[1].status_code == 200, merge[1].text
    assert merge[1].json()["contact"]["id"] == user_id
    answers = [r for _, r in posted]
    unexpected = [r for r in answers if not (_is(r, 201) or _is(r, 401, "session_required"))]
    assert not unexpected, _describe(unexpected)
    messages = {started.json()["message"]["id"]} | {
        r.json()["message"]["id"] for r in answers if _is(r, 201)
    }
    conversations = {conversation_id} | {
        r.json()["conversation"]["id"]
        for path, r in posted
        if path == "conversations" and _is(r, 201)
    }
    _assert_kept_by(app, user_id, messages, conversations)
    # the anonymous session is gone for good; the new one lists every accepted conversation
    assert _is(_list_conversations(base, app_id, session), 401, "session_required")
    listed = _list_conversations(base, app_id, merge[1].json()["session"])
    assert listed.status_code == 200
    assert conversations <= {c["id"] for c in listed.json()["conversations"]}


def test_messages_racing_a_sign_in_are_kept_or_refused_never_lost(app, live_server):
    app_id = make_workspace(app)
    for round_ in range(SIGN_IN_ROUNDS):
        # even rounds merge into a contact that exists already, odd rounds create it
        user_id = "u-signin" if round_ % 2 == 0 else f"u-signin-{round_}"
        try:
            _sign_in_round(app, live_server, app_id, user_id)
        except AssertionError as error:
            raise AssertionError(f"round {round_} ({user_id}): {error}") from error


# --- the verified lock holds under races ----------------------------------------------------

VERIFIED_ROUNDS = 3
UNSIGNED_CALLERS = 8
UNSIGNED_CALLS_PER_CALLER = 6  # each stops at its first refusal


def _identify_unsigned_until_refused(
    base: str, app_id: str, user_id: str, caller: int
) -> list[requests.Response]:
    """Fresh page loads (no session) identifying `user_id` unsigned until one is refused;
    call n of caller c sets attr `caller<c>` to n."""
    responses = []
    for n in range(UNSIGNED_CALLS_PER_CALLER):
        response = _identify(base, app_id, {"id": user_id, "attrs": {f"caller{caller}": n}})
        responses.append(response)
        if response.status_code != 200:
            break
    return responses


def _assert_unsigned_came_first(
    app: Flask,
    user_id: str,
    opened: list[requests.Response],
    unsigned: list[list[requests.Response]],
) -> None:
    """An unverified session reads nothing of a verified contact anyway, so look at the rows: an
    unsigned call accepted after the signed one would leave its session not ended, or its stale
    read-merge-write would undo the signed call's attrs."""
    contact = _contact(app, user_id)
    assert contact.verified is True
    last_accepted = {}
    for caller, batch in enumerate(unsigned):
        accepted = [n for n, r in enumerate(batch) if r.status_code == 200]
        if accepted:  # a caller's calls are sequential: its last accepted value is the stored one
            last_accepted[f"caller{caller}"] = accepted[-1]
    assert contact.attrs == {"plan": "pro", **last_accepted}
    with app.app_context():
        sessions = db.session.scalars(
            select(WidgetSession).where(WidgetSession.contact_id == contact.id)
        ).all()
    unverified = [s for s in sessions if s.verified_until is None]
    assert len(unverified) == len(opened) and len(sessions) == len(opened) + 1
    assert all(s.ended_at is not None for s in unverified), (
        "an unsigned session outlived the signed identify"
    )


def _verified_lock_round(
    app: Flask, base: str, app_id: str, key: Any, user_id: str, *, existing: bool
) -> None:
    opened = []
    if existing:
        first = _identify(base, app_id, {"id": user_id, "attrs": {"plan": "free"}})
        assert first.status_code == 200, first.text
        opened.append(first)
    token = _token(key, {"id": user_id, "attrs": {"plan": "pro"}})
    senders: list[Callable[[], list[requests.Response]]] = [
        lambda: [_identify(base, app_id, {"jwt": token})]
    ]
    senders += [
        (lambda c=c: _identify_unsigned_until_refused(base, app_id, user_id, c))
        for c in range(UNSIGNED_CALLERS)
    ]
    [signed], *unsigned = _race(senders)

    assert signed.status_code == 200, signed.text
    assert signed.json()["contact"]["verified"] is True and signed.json()["verifiedUntil"]
    answers = [r for batch in unsigned for r in batch]
    unexpected = [
        r for r in answers if not (_is(r, 200) or _is(r, 403, "verified_contact_requires_jwt"))
    ]
    assert not unexpected, _describe(unexpected)
    opened += [r for r in answers if r.status_code == 200]
    for response in opened:  # accepted, hence before the signed identify, which ended them
        assert response.json()["contact"]["id"] == user_id
        listed = _list_conversations(base, app_id, response.json()["session"])
        assert _is(listed, 401, "session_expired"), listed.text
    assert _list_conversations(base, app_id, signed.json()["session"]).status_code == 200
    assert _is(_identify(base, app_id, {"id": user_id}), 403, "verified_contact_requires_jwt")
    _assert_unsigned_came_first(app, user_id, opened, unsigned)


def test_unsigned_identifies_racing_a_signed_one_finish_before_it_or_are_refused(app, live_server):
    app_id = make_workspace(app)
    key = make_private_key("Ed25519")
    add_key(app, app_id, key)
    for round_ in range(VERIFIED_ROUNDS):
        user_id = f"v{round_ + 1}"
        try:  # even rounds: the contact exists; odd rounds: the race itself creates it
            _verified_lock_round(app, live_server, app_id, key, user_id, existing=round_ % 2 == 0)
        except AssertionError as error:
            raise AssertionError(f"round {round_} ({user_id}): {error}") from error


# --- a slow client holds no lock (docs/operations.md, "SQLite") ------------------------------

SLOW_CLIENT_SECONDS = 3.0  # how long the slow client withholds its body
PROMPT = 1.0  # seconds: what "promptly" means for each request made meanwhile

Timed = tuple[str, float, requests.Response]  # (what, seconds, answer)


def _signed_in_console(app: Flask, base: str) -> requests.Session:
    """A browser-like session signed in as an agent (the login form's CSRF token read from the page)."""
    email, password = "agent@example.com", "a long password"
    with app.app_context():
        operators.create_operator(email, "Agent", "agent", password, now=app_clock.now())
    browser = requests.Session()
    token = csrf_token_from(browser.get(f"{base}/login", timeout=TIMEOUT).text)
    signed_in = browser.post(
        f"{base}/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert signed_in.status_code == 303, signed_in.text
    return browser


def _timed(what: str, call: Callable[[], requests.Response]) -> Timed:
    started = time.monotonic()
    response = call()
    return what, time.monotonic() - started, response


def _visitor(base: str, app_id: str, user_id: str) -> list[Timed]:
    """Identify, start a conversation and write again, stopping at the first failure."""
    done = [_timed("identify", lambda: _identify(base, app_id, {"id": user_id}))]
    if done[-1][2].status_code != 200:
        return done
    session = done[-1][2].json()["session"]
    done.append(_timed("start", lambda: _post(base, app_id, "conversations", session, "Hi")))
    if done[-1][2].status_code != 201:
        return done
    path = f"conversations/{done[-1][2].json()['conversation']['id']}/messages"
    done.append(_timed("post", lambda: _post(base, app_id, path, session, "Again")))
    return done


def _everyone_else(base: str, app_id: str, console: requests.Session, round_: int) -> list[Timed]:
    """Two visitors of another workspace and an agent loading the inbox, at the same time."""
    inbox = f"{base}/inbox"
    calls: list[Callable[[], list[Timed]]] = [
        lambda: _visitor(base, app_id, f"fast-{round_}-a"),
        lambda: _visitor(base, app_id, f"fast-{round_}-b"),
        lambda: [
            _timed("inbox", lambda: console.get(inbox, allow_redirects=False, timeout=TIMEOUT))
        ],
    ]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [timed for batch in pool.map(lambda call: call(), calls) for timed in batch]


def test_a_client_withholding_its_body_blocks_no_one(app, live_server):
    slow_app_id, app_id = make_workspace(app), make_workspace(app)
    console = _signed_in_console(app, live_server)
    body = b'{"id": "slow-user"}'.ljust(100)  # exactly the announced Content-Length
    address = urlsplit(live_server)
    slow = socket.create_connection((address.hostname, address.port))
    try:
        slow.sendall(
            f"POST /widget/v1/apps/{slow_app_id}/identify HTTP/1.1\r\nHost: {address.netloc}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n".encode()
        )
        waiting_since = time.monotonic()
        time.sleep(0.3)  # the server has read the headers and waits for the body
        round_ = 0
        while round_ == 0 or time.monotonic() - waiting_since < SLOW_CLIENT_SECONDS:
            timings = _everyone_else(live_server, app_id, console, round_)
            statuses = [(what, r.status_code) for what, _, r in timings]
            expected = [("identify", 200), ("start", 201), ("post", 201)] * 2 + [("inbox", 200)]
            assert statuses == expected, [
                (what, round(s, 2), r.text[:200]) for what, s, r in timings
            ]
            slowest = max(timings, key=lambda t: t[1])
            assert slowest[1] < PROMPT, (
                f"{slowest[0]} took {slowest[1]:.2f} s while a body was withheld"
            )
            round_ += 1

        # All that time the slow client got no answer; its body now completes its call.
        slow.settimeout(0.05)
        with pytest.raises(TimeoutError):
            slow.recv(1)
        slow.settimeout(TIMEOUT)
        slow.sendall(body)
        answer = b""
        while chunk := slow.recv(65536):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:500]
        assert b'"slow-user"' in answer
    finally:
        slow.close()
        console.close()
