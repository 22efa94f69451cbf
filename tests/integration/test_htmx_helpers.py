"""The htmx response helpers: what an htmx request gets, what a plain request (no JavaScript, or an
htmx history restore) gets, with the flash messages each one leaves for the next page."""

from __future__ import annotations

import pytest
from flask import Flask, get_flashed_messages
from flask.ctx import RequestContext
from jinja2 import ChoiceLoader, DictLoader

from promptify.htmx import (
    STOP_POLLING,
    client_redirect,
    fragment_or_page,
    fragment_or_redirect,
    render_page_or_partial,
    stop_polling,
)

HX = {"HX-Request": "true"}
HISTORY_RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
PLAIN_REQUESTS = pytest.mark.parametrize("headers", [{}, HISTORY_RESTORE], ids=["plain", "restore"])
TEMPLATES = {
    "helpers/page.html": "<html>{{ title }}: {{ word }}</html>",
    "helpers/_main.html": '<p id="main"{% if oob %} hx-swap-oob="true"{% endif %}>{{ word }}</p>',
    "helpers/_side.html": '<p id="side"{% if oob %} hx-swap-oob="true"{% endif %}>{{ word }}</p>',
}


@pytest.fixture
def app_with_templates(app: Flask) -> Flask:
    """The real app, which also finds a few tiny templates, so the tests can compare whole bodies."""
    app.jinja_env.loader = ChoiceLoader([DictLoader(TEMPLATES), app.jinja_env.loader])
    return app


@pytest.fixture
def request_with(app_with_templates: Flask):
    """`with request_with(HX):` runs the helpers inside a POST with those headers."""

    def context(headers: dict[str, str]) -> RequestContext:
        return app_with_templates.test_request_context("/form", method="POST", headers=headers)

    return context


def never_called() -> dict[str, str]:
    raise AssertionError("the page context is only built for full pages")


# --- fragment_or_redirect -------------------------------------------------------------------


def test_htmx_gets_the_fragment_with_its_status_and_no_flash(request_with):
    with request_with(HX):
        response = fragment_or_redirect(
            "helpers/_main.html", {"word": "saved"}, redirect_to="/next", flash="Saved.", status=422
        )
        assert response.status_code == 422
        assert response.get_data(as_text=True) == '<p id="main">saved</p>'
        assert "HX-Request" in response.vary
        assert "Location" not in response.headers and "HX-Trigger" not in response.headers
        assert get_flashed_messages() == []


@PLAIN_REQUESTS
def test_plain_posts_get_the_flash_and_a_303_to_the_page(request_with, headers):
    with request_with(headers):
        response = fragment_or_redirect(
            "helpers/_main.html",
            {"word": "refused"},
            redirect_to="/next#part",
            flash="Refused.",
            category="error",
            status=422,
            trigger="changed",
        )
        assert response.status_code == 303
        assert response.headers["Location"] == "/next#part"
        assert "refused" not in response.get_data(as_text=True)
        assert "HX-Trigger" not in response.headers
        assert get_flashed_messages(with_categories=True) == [("error", "Refused.")]


def test_without_a_flash_message_nothing_is_flashed(request_with):
    with request_with({}):
        response = fragment_or_redirect("helpers/_main.html", {}, redirect_to="/next")
        assert response.status_code == 303 and get_flashed_messages() == []


def test_out_of_band_fragments_follow_the_main_one_and_say_so(request_with):
    with request_with(HX):
        response = fragment_or_redirect(
            "helpers/_main.html",
            {"word": "main"},
            oob=[("helpers/_side.html", {"word": "side"}), ("helpers/_main.html", {"word": "2"})],
            redirect_to="/next",
        )
        assert response.get_data(as_text=True) == (
            '<p id="main">main</p>'
            '<p id="side" hx-swap-oob="true">side</p>'
            '<p id="main" hx-swap-oob="true">2</p>'
        )
        assert "HX-Request" in response.vary


def test_the_trigger_is_sent_with_the_fragment(request_with):
    with request_with(HX):
        response = fragment_or_redirect(
            "helpers/_main.html", {}, redirect_to="/next", trigger="conversation-updated"
        )
        assert response.headers["HX-Trigger"] == "conversation-updated"


# --- fragment_or_page -----------------------------------------------------------------------


def test_htmx_gets_the_partial_with_its_own_context_only(request_with):
    with request_with(HX):
        response = fragment_or_page(
            "helpers/page.html",
            "helpers/_main.html",
            {"word": "thread"},
            page_context=never_called,
            status=422,
            trigger="conversation-updated",
        )
        assert response.status_code == 422
        assert response.get_data(as_text=True) == '<p id="main">thread</p>'
        assert response.headers["HX-Trigger"] == "conversation-updated"
        assert "HX-Request" in response.vary


@PLAIN_REQUESTS
def test_other_requests_get_the_page_with_both_contexts(request_with, headers):
    with request_with(headers):
        response = fragment_or_page(
            "helpers/page.html",
            "helpers/_main.html",
            {"word": "thread"},
            page_context=lambda: {"title": "Inbox", "word": "overridden"},
            status=422,
            trigger="conversation-updated",
        )
        assert response.status_code == 422
        assert response.get_data(as_text=True) == "<html>Inbox: thread</html>"
        assert "HX-Trigger" not in response.headers
        assert "HX-Request" in response.vary


# --- client_redirect, stop_polling, render_page_or_partial ----------------------------------


def test_client_redirect_over_htmx_is_an_empty_204_with_hx_redirect(request_with):
    with request_with(HX):
        response = client_redirect("/inbox", flash="You are an agent now.")
        assert response.status_code == 204 and response.get_data() == b""
        assert response.headers["HX-Redirect"] == "/inbox"
        assert "Location" not in response.headers
        assert get_flashed_messages(with_categories=True) == [("success", "You are an agent now.")]


@PLAIN_REQUESTS
def test_client_redirect_without_htmx_is_a_303(request_with, headers):
    with request_with(headers):
        response = client_redirect("/inbox", flash="Done.", category="info")
        assert response.status_code == 303 and response.headers["Location"] == "/inbox"
        assert "HX-Redirect" not in response.headers
        assert get_flashed_messages(with_categories=True) == [("info", "Done.")]


def test_stop_polling_is_an_empty_286(request_with):
    with request_with(HX):
        response = stop_polling()
        assert STOP_POLLING == 286
        assert response.status_code == 286 and response.get_data() == b""


@pytest.mark.parametrize(
    ("headers", "body"),
    [(HX, '<p id="main">list</p>'), ({}, "<html>Inbox: list</html>")],
    ids=["htmx", "plain"],
)
def test_render_page_or_partial(request_with, headers, body):
    with request_with(headers):
        response = render_page_or_partial(
            "helpers/page.html", "helpers/_main.html", 201, title="Inbox", word="list"
        )
        assert response.status_code == 201 and response.get_data(as_text=True) == body
        assert "HX-Request" in response.vary


def test_a_history_restore_gets_the_whole_page(request_with):
    with request_with(HISTORY_RESTORE):
        response = render_page_or_partial(
            "helpers/page.html", "helpers/_main.html", title="Inbox", word="list"
        )
        assert response.get_data(as_text=True) == "<html>Inbox: list</html>"
