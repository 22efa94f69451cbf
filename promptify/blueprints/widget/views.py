"""The widget API's endpoints (docs/widget-api.md): each reads what `http` checked, calls one
service and answers with a shape from `schemas`."""

from __future__ import annotations

from pathlib import Path

from flask import Response, g, jsonify, request, send_from_directory
from flask.typing import ResponseReturnValue

from promptify import clock
from promptify.blueprints.widget import schemas
from promptify.blueprints.widget.http import bp, page_url, read_json_object, session_token
from promptify.config import current_policy
from promptify.identity.errors import ApiError
from promptify.models import Contact, WidgetSession
from promptify.services import conversations, failures
from promptify.services import identify as identify_service

__all__ = ["bp"]


@bp.post("/apps/<app_id>/identify")
def identify(app_id: str) -> ResponseReturnValue:
    now = clock.now()
    try:
        result = identify_service.identify(
            g.workspace,
            read_json_object(),
            session_token=session_token(),
            user_agent=request.headers.get("User-Agent"),
            now=now,
            policy=current_policy(),
            page_url=page_url(),
        )
    except ApiError as error:
        failures.record(
            g.workspace,
            error,
            origin=request.headers.get("Origin"),
            now=now,
            policy=current_policy(),
            session_token=session_token(),
        )
        raise
    return jsonify(schemas.identify_answer(result))


# --- conversations (docs/widget-api.md, "Conversations") ----------------------------------


def _session_contact() -> tuple[WidgetSession, Contact]:
    return conversations.session_contact(
        g.workspace, session_token(), now=clock.now(), policy=current_policy()
    )


@bp.get("/apps/<app_id>/conversations")
def list_conversations(app_id: str) -> ResponseReturnValue:
    """Polled by the widget, also while closed: an unchanged list costs the session lookup alone
    and answers `304 Not Modified` to `If-None-Match`."""
    _, contact = _session_contact()
    etag = conversations.list_etag(contact)
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        rows = conversations.list_for_contact(contact)
        response = jsonify(conversations=[schemas.conversation(c, unread) for c, unread in rows])
    response.set_etag(etag)
    return response


@bp.post("/apps/<app_id>/conversations")
def start_conversation(app_id: str) -> ResponseReturnValue:
    body = conversations.body_from(read_json_object())
    conversation, message = conversations.start(
        g.workspace,
        session_token(),
        body,
        now=clock.now(),
        policy=current_policy(),
        page_url=page_url(),
    )
    return jsonify(
        conversation=schemas.conversation(conversation, unread=0),
        message=schemas.messages(conversations.with_author_names(conversation, [message]))[0],
    ), 201


@bp.get("/apps/<app_id>/conversations/<int:conversation_id>/messages")
def list_messages(app_id: str, conversation_id: int) -> ResponseReturnValue:
    _, contact = _session_contact()
    conversation = conversations.get_for_contact(contact, conversation_id)
    after = conversations.after_id_from(request.args.get("after"))
    messages = conversations.messages_after(conversation, after)
    return jsonify(
        messages=schemas.messages(conversations.with_author_names(conversation, messages))
    )


@bp.post("/apps/<app_id>/conversations/<int:conversation_id>/messages")
def post_message(app_id: str, conversation_id: int) -> ResponseReturnValue:
    body = conversations.body_from(read_json_object())
    conversation, message = conversations.post_contact_message(
        g.workspace,
        session_token(),
        conversation_id,
        body,
        now=clock.now(),
        policy=current_policy(),
        page_url=page_url(),
    )
    return jsonify(
        message=schemas.messages(conversations.with_author_names(conversation, [message]))[0]
    ), 201


@bp.post("/apps/<app_id>/conversations/<int:conversation_id>/read")
def mark_read(app_id: str, conversation_id: int) -> ResponseReturnValue:
    """The visitor was shown the messages up to `lastMessageId`."""
    last_message_id = conversations.last_message_id_from(read_json_object())
    conversations.mark_read_by_contact(
        g.workspace,
        session_token(),
        conversation_id,
        last_message_id,
        now=clock.now(),
        policy=current_policy(),
    )
    return Response(status=204)


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    from promptify.blueprints.widget.openapi import document

    return jsonify(document())


# --- the widget script (docs/widget-api.md, "The widget script") --------------------------

SCRIPT_DIRECTORY = Path(__file__).resolve().parents[2] / "static" / "widget"
SCRIPT_MAX_AGE = 300  # seconds: a new release reaches every host page within minutes


@bp.get("/promptify.js")
def script() -> ResponseReturnValue:
    """The embeddable widget; any page may load it (the API still checks origins)."""
    response = send_from_directory(
        SCRIPT_DIRECTORY, "promptify.js", mimetype="text/javascript", max_age=SCRIPT_MAX_AGE
    )
    response.cache_control.public = True
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
