"""htmx helpers: one route serves the full page or, for htmx requests, just the fragment; and the
few responses the console's views return, so that no view writes its own htmx branch.

Plain form posts keep working without JavaScript: where htmx gets a fragment, they get a flash
message and a 303 to a page (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Response, make_response, redirect, render_template, request
from flask import flash as flash_message
from werkzeug.wrappers import Response as BaseResponse

STOP_POLLING = 286  # htmx cancels the `hx-trigger="every …"` poller that receives this status


def is_htmx() -> bool:
    """True for htmx requests, except history restores (those need the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def current_path() -> str:
    """The path of the page an htmx request comes from (its HX-Current-URL header), or "" when
    there is none or it is not a URL. A header is whatever the client sent: never trust it further
    than "which page is open"."""
    try:
        return urlsplit(request.headers.get("HX-Current-URL", "")).path
    except ValueError:  # e.g. an unclosed "[" where an IPv6 host would be
        return ""


def render_page_or_partial(
    page: str, partial: str, status_code: int = 200, /, **context: Any
) -> Response:
    """The partial for htmx requests, the whole page otherwise (deep links and reloads work)."""
    return _html(render_template(partial if is_htmx() else page, **context), status_code)


def fragment_or_page(
    page: str,
    partial: str,
    context: Mapping[str, Any],
    *,
    page_context: Callable[[], Mapping[str, Any]],
    status: int = 200,
    trigger: str | None = None,
) -> Response:
    """htmx: `partial` with `context`, firing `trigger`; others: `page` with `page_context()` too."""
    if is_htmx():
        return _fired(_html(render_template(partial, **context), status), trigger)
    return _html(render_template(page, **{**page_context(), **context}), status)


def fragment_or_redirect(
    partial: str,
    context: Mapping[str, Any],
    *,
    redirect_to: str,
    flash: str | None = None,
    category: str = "success",
    status: int = 200,
    oob: Iterable[tuple[str, Mapping[str, Any]]] = (),
    trigger: str | None = None,
) -> BaseResponse:
    """htmx: `partial`, then each `oob` fragment; plain posts: `flash`, then 303 to `redirect_to`."""
    if not is_htmx():
        if flash:
            flash_message(flash, category)
        return redirect(redirect_to, code=303)
    html = render_template(partial, **context) + "".join(
        # `oob` makes the template add hx-swap-oob, so htmx swaps it in by its id
        render_template(name, **{**oob_context, "oob": True})
        for name, oob_context in oob
    )
    return _fired(_html(html, status), trigger)


def client_redirect(
    url: str, *, flash: str | None = None, category: str = "success"
) -> BaseResponse:
    """A full navigation to `url` (htmx: 204 with HX-Redirect; others: 303), `flash` shown there."""
    if flash:
        flash_message(flash, category)
    if is_htmx():
        return Response(status=204, headers={"HX-Redirect": url}, mimetype="text/plain")
    return redirect(url, code=303)


def stop_polling() -> Response:
    """An empty 286: htmx stops the poller that asked."""
    return Response(status=STOP_POLLING)


def _html(html: str, status: int) -> Response:
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


def _fired(response: Response, event: str | None) -> Response:
    """`event` is triggered on the page once htmx has swapped the response in (HX-Trigger)."""
    if event:
        response.headers["HX-Trigger"] = event
    return response
