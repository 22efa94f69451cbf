"""The widget API's HTTP edge (docs/widget-api.md): rate limits, body reading before any
database work, the workspace and its allowed origins, CORS headers, and the JSON body."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from promptify import clock
from promptify.config import current_policy
from promptify.extensions import limiter
from promptify.identity.errors import ApiError
from promptify.identity.strict_json import StrictJSONError, loads_strict
from promptify.services import conversations, failures, transaction, workspaces
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
    "Access-Control-Allow-Headers": (
        f"Content-Type, If-None-Match, {SESSION_HEADER}, {PAGE_URL_HEADER}"
    ),
    "Access-Control-Expose-Headers": "ETag, Retry-After",
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
                g.workspace,
                error,
                origin=origin,
                now=clock.now(),
                policy=current_policy(),
                session_token=session_token(),
            )
        raise error
    if request.method == "OPTIONS":
        return Response(status=204)
    return None


@bp.after_request
def _cors(response: Response) -> Response:
    if "cors_origin" not in g and response.status_code in (413, 429):
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
    """The raw body (at most 64 KiB, chunked ones too: promptify/limits.py), or the 413 to
    answer once the workspace is known."""
    try:
        return request.get_data(cache=False)
    except RequestEntityTooLarge:
        return ApiError("payload_too_large", "The request body is larger than 64 KiB.")


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


def page_url() -> str | None:
    return conversations.clean_page_url(request.headers.get(PAGE_URL_HEADER))


def session_token() -> str | None:
    return request.headers.get(SESSION_HEADER)
