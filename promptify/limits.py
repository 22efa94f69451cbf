"""Request bodies are at most `MAX_CONTENT_LENGTH` bytes (64 KiB), however they are sent.

Werkzeug refuses a larger declared `Content-Length` with 413, but silently cuts a chunked body
(no length) at the limit; the rest would then be parsed as if it were the whole request. Here a
chunked body is read up front, at most one byte past the limit, and refused when it is longer.
"""

from __future__ import annotations

import io

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge


def init_app(app: Flask) -> None:
    app.before_request(_refuse_oversized_chunked_body)


def _refuse_oversized_chunked_body() -> None:
    if request.content_length is not None or not request.environ.get("wsgi.input_terminated"):
        return  # a declared length is Werkzeug's to check; no length and no end: no body
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if not limit:
        return
    raw = request.environ["wsgi.input"].read(limit + 1)
    if len(raw) > limit:
        raise RequestEntityTooLarge()
    request.environ["wsgi.input"] = io.BytesIO(raw)
    request.environ["CONTENT_LENGTH"] = str(len(raw))
