"""The widget API `/widget/v1/...` (docs/widget-api.md): JSON only, CORS for allowed origins,
session header."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, send_from_directory
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from promptify import clock
from promptify.config import current_policy
from promptify.extensions import limiter
from promptify.identity.errors import ApiError
from promptify.identity.strict_json import StrictJSONError, loads_strict
from promptify.models import Contact, WidgetSession
from promptify.services import conversations, failures, transaction, workspaces
from promptify.services import identify as identify_service
from promptify.services.conversations import PAGE_URL_HEADER
from promptify.services.sessions import SESSION_HEADER

bp = Blueprint("widget", __name__, url_prefix="/widget/v1")
# Per client address and per app (docs/widget-api.md, "Rate limits"); 429 rate_limited.
limiter.limit(
    lambda: current_app.config["WIDGET_RATE_LIMIT_PER_ADDRESS"],
    key_func=lambda: request.remote_addr or "unknown",
    scope="widget-address",
)(bp)
limiter.limit(
    lambda: current_app.config["WIDGET_RATE_LIMIT_PER_APP"],
    key_func=lambda: (request.view_args or {}).get("app_id") or "no-app",
    scope="widget-app",
)(bp)

CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": f"Content-Type, {SESSION_HEADER}, {PAGE_URL_HEADER}",
    "Access-Control-Expose-Headers": "Retry-After",
    "Access-Control-Max-Age": "600",
}


@bp.before_request
def _resolve_workspace_and_origin() -> ResponseReturnValue | None:
    """Read the body, find the workspace, enforce allowed origins, answer CORS preflights.

    The body is read before the database is touched, so a client that sends its headers and
    withholds its body holds no transaction; a POST then runs in one write transaction."""
    app_id = (request.view_args or {}).get("app_id")
    if app_id is None:
        return None
    if request.method == "POST":
        g.body = _read_body()
        transaction.begin_write()
    origin = request.headers.get("Origin")
    g.cors_origin = origin  # errors about the app itself are readable by any page
    g.workspace = workspaces.get_workspace(app_id)
    if origin is not None and not workspaces.origin_allowed(g.workspace, origin):
        g.cors_origin = None
        error = ApiError(
            "origin_not_allowed",
            f"Requests from {origin[:200]} are not allowed; add this origin in Settings › Messenger › Installation.",
        )
        if request.endpoint == "widget.identify":
            # A browser never sends the POST after a refused preflight: record the preflight,
            # or an admin with a wrong origin list would see an empty failure log.
            failures.record(
                g.workspace, error, origin=origin, now=clock.now(), session_token=_session_token()
            )
        raise error
    if request.method == "OPTIONS":
        return Response(status=204)
    return None


@bp.after_request
def _cors(response: Response) -> Response:
    if "cors_origin" not in g and response.status_code == 429:
        g.cors_origin = _allowed_origin()  # the limiter answered before the origin check ran
    origin = g.get("cors_origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.update(CORS_HEADERS)
    response.vary.add("Origin")
    if "Cache-Control" not in response.headers:  # only the script sets its own
        response.headers["Cache-Control"] = "no-store"
    return response


def _allowed_origin() -> str | None:
    origin = request.headers.get("Origin")
    workspace = workspaces.find_workspace((request.view_args or {}).get("app_id") or "")
    if origin is None or workspace is None:
        return None
    return origin if workspaces.origin_allowed(workspace, origin) else None


def _read_body() -> bytes | ApiError:
    """The raw body (at most 64 KiB), or the 413 to answer once the workspace is known."""
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return ApiError("payload_too_large", "The request body is larger than 64 KiB.")
    if request.content_length is None and len(raw) > (
        current_app.config["MAX_CONTENT_LENGTH"] or len(raw)
    ):
        return ApiError("payload_too_large", "The request body is larger than 64 KiB.")
    return raw


def read_json_object() -> dict[str, Any]:
    """The body as a JSON object, or the error for 413 / 415 / invalid_json."""
    if request.mimetype != "application/json":
        raise ApiError("unsupported_media_type", "Send the body as application/json.")
    raw = g.body if "body" in g else _read_body()
    if isinstance(raw, ApiError):
        raise raw
    try:
        body = loads_strict(raw)
    except StrictJSONError as error:
        raise ApiError("invalid_json", f"The request body is not valid JSON: {error}.") from None
    if not isinstance(body, dict):
        raise ApiError(
            "invalid_json", "The request body must be a JSON object, as passed to setUser()."
        )
    return body


@bp.post("/apps/<app_id>/identify")
def identify(app_id: str) -> ResponseReturnValue:
    now = clock.now()
    try:
        result = identify_service.identify(
            g.workspace,
            read_json_object(),
            session_token=_session_token(),
            user_agent=request.headers.get("User-Agent"),
            now=now,
            policy=current_policy(),
            page_url=_page_url(),
        )
    except ApiError as error:
        failures.record(
            g.workspace,
            error,
            origin=request.headers.get("Origin"),
            now=now,
            session_token=_session_token(),
        )
        raise
    return jsonify(
        session=result.session_token, contact=result.contact, verifiedUntil=result.verified_until
    )


# --- conversations (docs/widget-api.md, "Conversations") ----------------------------------


def _page_url() -> str | None:
    return conversations.clean_page_url(request.headers.get(PAGE_URL_HEADER))


def _session_token() -> str | None:
    return request.headers.get(SESSION_HEADER)


def _session_contact() -> tuple[WidgetSession, Contact]:
    return conversations.session_contact(
        g.workspace, _session_token(), now=clock.now(), policy=current_policy()
    )


@bp.get("/apps/<app_id>/conversations")
def list_conversations(app_id: str) -> ResponseReturnValue:
    _, contact = _session_contact()
    rows = conversations.list_for_contact(contact)
    return jsonify(conversations=[conversations.conversation_json(c) for c in rows])


@bp.post("/apps/<app_id>/conversations")
def start_conversation(app_id: str) -> ResponseReturnValue:
    body = conversations.body_from(read_json_object())
    conversation, message = conversations.start(
        g.workspace,
        _session_token(),
        body,
        now=clock.now(),
        policy=current_policy(),
        page_url=_page_url(),
    )
    return jsonify(
        conversation=conversations.conversation_json(conversation),
        message=conversations.messages_json(conversation, [message])[0],
    ), 201


@bp.get("/apps/<app_id>/conversations/<int:conversation_id>/messages")
def list_messages(app_id: str, conversation_id: int) -> ResponseReturnValue:
    _, contact = _session_contact()
    conversation = conversations.get_for_contact(contact, conversation_id)
    after = conversations.after_id_from(request.args.get("after"))
    messages = conversations.messages_after(conversation, after)
    return jsonify(messages=conversations.messages_json(conversation, messages))


@bp.post("/apps/<app_id>/conversations/<int:conversation_id>/messages")
def post_message(app_id: str, conversation_id: int) -> ResponseReturnValue:
    body = conversations.body_from(read_json_object())
    conversation, message = conversations.post_contact_message(
        g.workspace,
        _session_token(),
        conversation_id,
        body,
        now=clock.now(),
        policy=current_policy(),
        page_url=_page_url(),
    )
    return jsonify(message=conversations.messages_json(conversation, [message])[0]), 201


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
