"""Retention (`promptify purge`) and widget rate limits (429 rate_limited with Retry-After)."""

from __future__ import annotations

from sqlalchemy import func, select

from promptify.extensions import db
from promptify.models import Contact, IdentifyFailure, UsedJti, WidgetSession
from tests.factories import (
    add_key,
    identify,
    make_conversation,
    make_private_key,
    make_workspace,
    sign,
)


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_purge_removes_only_what_no_rule_needs(app, client, runner, clock):
    app_id = make_workspace(app)
    key = make_private_key("Ed25519")
    add_key(app, app_id, key)
    exp = int(clock.current.timestamp()) + 60
    assert (
        identify(
            client, app_id, {"jwt": sign(key, {"id": "u1", "exp": exp, "jti": "old"})}
        ).status_code
        == 200
    )
    stale = identify(client, app_id, {"id": None}).json["session"]
    talking = identify(client, app_id, {"id": None})
    with app.app_context():
        talker = (
            db.session.scalars(select(Contact).where(Contact.external_id.is_(None))).all()[-1].id
        )
    client.post(
        f"/widget/v1/apps/{app_id}/conversations",
        json={"body": "hi"},
        headers={"X-Promptify-Session": talking.json["session"]},
    )
    identify(client, app_id, {"id": "u2", "avatarURL": "typo"})  # a failure
    clock.advance(days=31)
    fresh = identify(client, app_id, {"id": None})
    assert fresh.status_code == 200
    assert runner.invoke(args=["purge"]).stdout.split() == [
        "jti",
        "1",
        "sessions",
        "3",
        "anonymous_contacts",
        "1",
        "failures",
        "1",
        "audit_events",
        "0",
    ]
    assert _count(app, UsedJti) == 0 and _count(app, IdentifyFailure) == 0
    with app.app_context():
        remaining = {c.external_id or c.id for c in db.session.scalars(select(Contact))}
    assert (
        talker in remaining and "u1" in remaining and len(remaining) == 3
    )  # u1, the talker, the fresh one
    assert identify(client, app_id, {"id": None}, session=stale).json["session"] != stale
    assert _count(app, WidgetSession) >= 2
    assert runner.invoke(args=["purge"]).stdout.split() == [
        "jti",
        "0",
        "sessions",
        "0",
        "anonymous_contacts",
        "0",
        "failures",
        "0",
        "audit_events",
        "0",
    ]


def test_purge_keeps_anonymous_visitors_with_conversations(app, runner, clock):
    app_id = make_workspace(app)
    make_conversation(app, app_id, external_id=None)
    clock.advance(days=90)
    runner.invoke(args=["purge"])
    assert _count(app, Contact) == 1


def test_widget_api_is_rate_limited_per_address_with_the_envelope(app, client):
    app.config["WIDGET_RATE_LIMIT_PER_ADDRESS"] = "3 per minute"
    app_id = make_workspace(app)
    statuses = [identify(client, app_id, {"id": None}).status_code for _ in range(3)]
    limited = identify(client, app_id, {"id": None})
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    from_page = identify(client, app_id, {"id": None}, Origin="https://app.example.com")
    assert from_page.status_code == 429  # and the widget's page may read it, Retry-After included
    assert from_page.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Retry-After" in from_page.headers["Access-Control-Expose-Headers"]


def test_widget_api_is_rate_limited_per_app(app, client):
    app.config["WIDGET_RATE_LIMIT_PER_APP"] = "2 per minute"
    busy, quiet = make_workspace(app), make_workspace(app)
    assert [identify(client, busy, {"id": None}).status_code for _ in range(3)] == [200, 200, 429]
    assert identify(client, quiet, {"id": None}).status_code == 200


def test_rate_limits_can_be_switched_off_from_the_environment(app, monkeypatch):
    from promptify import create_app

    monkeypatch.setenv("PROMPTIFY_RATELIMIT_ENABLED", "false")
    monkeypatch.setenv("PROMPTIFY_WIDGET_RATE_LIMIT_PER_ADDRESS", "1 per minute")
    unlimited = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "x",
            "CLOCK": app.config["CLOCK"],
        }
    )
    app_id = make_workspace(unlimited)
    client = unlimited.test_client()
    assert [identify(client, app_id, {"id": None}).status_code for _ in range(3)] == [200] * 3
    with unlimited.app_context():
        db.engine.dispose()


def test_rate_limits_can_be_shared_through_redis(app):
    """With Redis as storage, every worker (here: two apps) counts against the same limit."""
    import os

    import pytest
    import redis

    from promptify import create_app

    server = redis.Redis(host="127.0.0.1", port=6379, db=15, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.RedisError as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"Redis is not reachable: {error}")
    config = {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "x",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
        "WIDGET_RATE_LIMIT_PER_APP": "3 per minute",
    }
    app_id = make_workspace(app)
    first, second = create_app(config), create_app(config)
    statuses = [
        identify(worker.test_client(), app_id, {"id": None}).status_code
        for worker in (first, second, first, second)
    ]
    assert statuses == [200, 200, 200, 429]
    counters = server.keys(f"*{app_id}*")  # app ids are unique: these are this test's counters
    assert counters  # the counters live in Redis, not in a worker
    server.delete(*counters)
    for worker in (first, second):
        with worker.app_context():
            db.engine.dispose()


def test_behind_a_proxy_the_visitor_address_and_https_are_trusted(app):
    from promptify import create_app

    config = {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "x",
        "PROXY_HOPS": 1,
        "WIDGET_RATE_LIMIT_PER_ADDRESS": "2 per minute",
    }
    proxied = create_app(config)
    client = proxied.test_client()
    app_id = make_workspace(proxied)
    one = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    other = {"X-Forwarded-For": "198.51.100.9", "X-Forwarded-Proto": "https"}
    assert [identify(client, app_id, {"id": None}, **one).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert identify(client, app_id, {"id": None}, **other).status_code == 200  # another visitor
    assert "max-age" in client.get("/login", headers=other).headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
    with proxied.app_context():
        db.engine.dispose()


def test_cookies_are_secure_on_https_directly_or_behind_the_proxy(app, client):
    """The session (and with it the CSRF token) and remember-me cookies carry `Secure` whenever
    the request came over https; on plain http they cannot (the browser would drop them)."""
    from promptify import create_app

    def cookie_flags(test_client, **options) -> list[str]:  # type: ignore[no-untyped-def]
        response = test_client.get("/login", **options)
        cookies = response.headers.getlist("Set-Cookie")
        assert cookies, "the login page sets the session cookie (CSRF token)"
        return cookies

    assert all("Secure" not in c for c in cookie_flags(client))
    assert all(
        "; Secure" in c for c in cookie_flags(app.test_client(), base_url="https://localhost")
    )
    proxied = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "x",
            "PROXY_HOPS": 1,
        }
    )
    behind = cookie_flags(proxied.test_client(), headers={"X-Forwarded-Proto": "https"})
    assert all("; Secure" in c for c in behind)
    with proxied.app_context():
        db.engine.dispose()


def test_console_pages_are_never_cached_but_static_files_may_be(client, login):
    login()
    for path in ("/login", "/inbox", "/contacts"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    static = client.get("/static/console.css")
    static.close()
    assert "no-store" not in static.headers.get("Cache-Control", "")
