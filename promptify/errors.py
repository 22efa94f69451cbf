"""One JSON error envelope for the widget API, whatever went wrong (docs/widget-api.md, "Errors")."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from promptify.blueprints.widget import schemas
from promptify.extensions import db
from promptify.identity.errors import ApiError

log = logging.getLogger(__name__)


_HTTP_CODES = {
    404: ("not_found", "No such endpoint."),
    405: ("method_not_allowed", "This endpoint does not accept that HTTP method."),
    413: ("payload_too_large", "The request body is larger than 64 KiB."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    429: ("rate_limited", "Too many requests; wait for the Retry-After seconds and try again."),
}


def _is_widget_request() -> bool:
    return request.path.startswith("/widget/")


def error_response(error: ApiError) -> Response:
    response = jsonify(schemas.error(error))
    response.status_code = error.status
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response | HTTPException | tuple[str, int]:
        if not _is_widget_request():
            if error.code is None or error.code < 400 or request.path.startswith("/static/"):
                return error
            page = render_template(
                "errors/error.html",
                code=error.code,
                title=error.name,
                description=error.description,
            )
            return page, error.code
        code, message = _HTTP_CODES.get(error.code or 500, ("not_found", "No such endpoint."))
        if error.code == 400:
            code, message = "invalid_json", "The request body is not valid JSON."
        return error_response(ApiError(code, message))

    @app.errorhandler(OperationalError)
    def _database_down(error: OperationalError) -> Response:
        db.session.rollback()
        log.warning("database unavailable: %s", error.orig)
        if _is_widget_request() or request.path == "/healthz":
            response = error_response(
                ApiError(
                    "unavailable",
                    "The database is unreachable; nothing was written. Retry shortly.",
                )
            )
            response.headers["Retry-After"] = "5"
            return response
        return Response(
            "Service unavailable: the database is unreachable.", 503, mimetype="text/plain"
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        db.session.rollback()
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return _database_down(error)  # type: ignore[arg-type]
        log.exception("unhandled error on %s", request.path)
        if _is_widget_request():
            # Never a planned answer, so not in the error table: a bug, and it must still speak JSON.
            response = jsonify(
                {
                    "error": {
                        "code": "internal_error",
                        "message": "Unexpected server error.",
                        "field": None,
                    }
                }
            )
            response.status_code = 500
            return response
        return Response("Internal server error.", 500, mimetype="text/plain")
