"""The agents' inbox (docs/operations.md, "The console"): list, thread and details side panel,
swapped in with htmx."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from promptify import clock
from promptify.blueprints.console import current_workspace
from promptify.forms import EmptyForm, ReplyForm
from promptify.htmx import (
    fragment_or_page,
    fragment_or_redirect,
    render_page_or_partial,
    stop_polling,
)
from promptify.identity.errors import ApiError
from promptify.models import Conversation, Status
from promptify.services import directory as directory_service
from promptify.services import inbox as inbox_service
from promptify.services import teamwork
from promptify.services.inbox import FILTERS
from promptify.services.search import Cursor

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

PAGE, THREAD = "inbox/index.html", "inbox/_conversation.html"
UPDATED = "conversation-updated"  # the HX-Trigger event the conversation list reloads on


def _list_context() -> dict[str, Any]:
    status = request.args.get("status", "open")
    status = status if status in FILTERS else "open"
    q = request.args.get("q", "")[:200]
    rows, cursor = inbox_service.list_conversations(
        current_workspace().id,
        status=status,
        operator_id=current_user.id,
        q=q,
        before=Cursor.decode(request.args.get("before")),
    )
    return {
        "rows": rows,
        "cursor": cursor,
        "status": status,
        "q": q,
        "filters": FILTERS,
        "selected_id": _selected_id(),
        "claims": directory_service.email_claims([row.contact for row in rows]),
    }


def _selected_id() -> int | None:
    """The open conversation: from the path, or for htmx list refreshes from HX-Current-URL."""
    if request.view_args and "conversation_id" in request.view_args:
        return int(request.view_args["conversation_id"])
    path = urlsplit(request.headers.get("HX-Current-URL", "")).path
    tail = path.removeprefix(url_for("inbox.index") + "/")
    return int(tail) if tail.isdigit() else None


def _conversation_or_404(conversation_id: int) -> Conversation:
    conversation = inbox_service.get_conversation(current_workspace().id, conversation_id)
    if conversation is None:
        abort(404)
    return conversation


def _thread_context(conversation: Conversation) -> dict[str, Any]:
    view = inbox_service.thread(conversation)
    panel = directory_service.contact_panel(view.contact, exclude_conversation_id=conversation.id)
    return {"view": view, "panel": panel, "reply_form": ReplyForm(), "action_form": EmptyForm()}


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    return render_page_or_partial(PAGE, "inbox/_list.html", **_list_context())


@bp.get("/<int:conversation_id>")
@login_required
def conversation(conversation_id: int) -> ResponseReturnValue:
    selected = _conversation_or_404(conversation_id)
    return fragment_or_page(PAGE, THREAD, _thread_context(selected), page_context=_list_context)


@bp.get("/<int:conversation_id>/poll")
@login_required
def poll(conversation_id: int) -> ResponseReturnValue:
    """Polling: new messages plus a fresh poller; 204 when nothing is new, 286 stops polling."""
    selected = inbox_service.get_conversation(current_workspace().id, conversation_id)
    if selected is None:
        return stop_polling()
    after = request.args.get("after", type=int) or 0
    view = inbox_service.thread(selected, after_id=after)
    if not view.messages:
        return Response(status=204)
    return render_page_or_partial(
        "inbox/_poll.html", "inbox/_poll.html", view=view, after=view.messages[-1].id
    )


@bp.post("/<int:conversation_id>/reply")
@login_required
def reply(conversation_id: int) -> ResponseReturnValue:
    selected = _conversation_or_404(conversation_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            teamwork.reply(selected, current_user, form.body.data or "", now=clock.now())
        except ApiError as error:  # the widget's body rules (e.g. NUL characters) apply too
            form.body.errors = [error.message]
        else:
            return _updated(selected, reply_form=ReplyForm(formdata=None))
    return fragment_or_page(
        PAGE,
        THREAD,
        {**_thread_context(selected), "reply_form": form},
        page_context=_list_context,
        status=422,
        trigger=UPDATED,
    )


@bp.post("/<int:conversation_id>/status")
@login_required
def set_status(conversation_id: int) -> ResponseReturnValue:
    selected = _conversation_or_404(conversation_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    wanted = request.form.get("status")
    if wanted not in tuple(Status):
        abort(400)
    teamwork.set_status(selected, Status(wanted), operator=current_user, now=clock.now())
    return _updated(selected)


@bp.post("/<int:conversation_id>/assign")
@login_required
def assign_to_me(conversation_id: int) -> ResponseReturnValue:
    selected = _conversation_or_404(conversation_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    teamwork.assign(selected, current_user.id, operator=current_user, now=clock.now())
    return _updated(selected)


def _updated(selected: Conversation, **overrides: Any) -> ResponseReturnValue:
    """htmx: the refreshed thread, and the list refreshes too; plain posts: 303 back to the thread."""
    return fragment_or_redirect(
        THREAD,
        {**_thread_context(selected), **overrides},
        redirect_to=url_for("inbox.conversation", conversation_id=selected.id),
        trigger=UPDATED,
    )
