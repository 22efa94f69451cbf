"""htmx helpers: one route serves the full page or, for htmx requests, just the fragment."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request


def is_htmx() -> bool:
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_partial(
    page: str, partial: str, status_code: int = 200, /, **context: Any
) -> Response:
    """The partial for htmx requests, the whole page otherwise (deep links and reloads work)."""
    response = make_response(
        render_template(partial if is_htmx() else page, **context), status_code
    )
    response.vary.add("HX-Request")
    return response
