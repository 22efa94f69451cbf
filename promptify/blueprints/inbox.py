"""The agents' inbox (docs/operations.md, "The console"): list, thread and details side panel,
swapped in with htmx; a thread shows its latest messages and pages back with "Load earlier
messages"; unread marks, the attention poll behind the navigation's count and the desktop
notifications; teamwork in the thread (assignment, private notes, events)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from promptify import clock
from promptify.blueprints.console import all_workspaces, current_workspace, id_arg
from promptify.config import current_policy
from promptify.forms import AssignForm, EmptyForm, NoteForm, ReplyForm
from promptify.htmx import (
    current_path,
    fragment_or_page,
    fragment_or_redirect,
    is_htmx,
    render_page_or_partial,
    stop_polling,
)
from promptify.identity.errors import ApiError
from promptify.models import ActivityKind, Contact, Conversation, Status
from promptify.services import directory as directory_service
from promptify.services import inbox as inbox_service
from promptify.services import teamwork
from promptify.services.conversations import MAX_ID
from promptify.services.inbox import FILTERS
from promptify.services.search import Cursor, in_id_range, parse_id, search_terms

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

PAGE, THREAD = "inbox/index.html", "inbox/_conversation.html"
EARLIER = "inbox/_earlier.html"  # what "Load earlier messages" puts in its place
UPDATED = "conversation-updated"  # the HX-Trigger event the conversation list reloads on
# console.js sends "1" with htmx requests while the tab is visible: only then does a thread's
# poll count the visitor's new messages as read
VISIBLE_HEADER = "X-Promptify-Visible"
NOTIFICATION_PREVIEW = 140
CHOOSE_OPERATOR = "Choose an operator from the list, or Unassigned."
UNKNOWN_OPERATOR = "That operator does not exist or was deactivated; choose another one."


class _Attention:
    """The navigation's unread count, counted only when a template shows it."""

    @cached_property
    def unread(self) -> int:
        if not all_workspaces():
            return 0
        return inbox_service.unread_count(current_workspace().id, current_user.id)

    @property
    def label(self) -> str:
        return inbox_service.unread_label(self.unread)


@bp.app_context_processor
def _attention_context() -> dict[str, Any]:
    if not current_user.is_authenticated or request.blueprint in (None, "widget", "auth"):
        return {}
    return {"attention": _Attention()}


def _list_context(*, paged: bool = True) -> dict[str, Any]:
    """The conversation list; `paged`: at the page of the query string's `before` cursor."""
    status = request.args.get("status", "open")
    status = status if status in FILTERS else "open"
    q = search_terms(request.args.get("q", ""))
    rows, cursor = inbox_service.list_conversations(
        current_workspace().id,
        status=status,
        operator_id=current_user.id,
        q=q,
        before=Cursor.decode(request.args.get("before")) if paged else None,
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
    """The open conversation: from the path, or for htmx list refreshes from HX-Current-URL
    (`/inbox/<id>` or a page under it; anything else, whatever a client sent, selects none)."""
    if request.view_args and "conversation_id" in request.view_args:
        return int(request.view_args["conversation_id"])
    prefix = url_for("inbox.index") + "/"
    path = current_path()
    if not path.startswith(prefix):
        return None
    return parse_id(path.removeprefix(prefix).split("/", 1)[0])


def _find(conversation_id: int) -> Conversation | None:
    """The current workspace's conversation; ids beyond the column's range cannot exist."""
    if not in_id_range(conversation_id):
        return None
    return inbox_service.get_conversation(current_workspace().id, conversation_id)


def _conversation_or_404(conversation_id: int) -> Conversation:
    conversation = _find(conversation_id)
    if conversation is None:
        abort(404)
    return conversation


def _header_context(**forms: Any) -> dict[str, Any]:
    """What the thread's header needs: its forms and the operators it can assign to."""
    return {
        "action_form": EmptyForm(formdata=None),
        "assign_form": AssignForm(formdata=None),
        "operators": inbox_service.assignable_operators(),
        **forms,
    }


def _thread_context(
    conversation: Conversation, view: inbox_service.ThreadView | None = None, **forms: Any
) -> dict[str, Any]:
    """The thread (its latest messages unless `view` is another window), panel and forms."""
    view = view or inbox_service.thread(conversation)
    panel = directory_service.contact_panel(view.contact, exclude_conversation_id=conversation.id)
    return {
        "view": view,
        "panel": panel,
        "reply_form": ReplyForm(formdata=None),
        "note_form": NoteForm(formdata=None),
        **_header_context(**forms),
    }


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    return render_page_or_partial(PAGE, "inbox/_list.html", **_list_context())


@bp.get("/<int:conversation_id>")
@login_required
def conversation(conversation_id: int) -> ResponseReturnValue:
    """Opening a conversation marks it read for this operator (before the list is rendered, so
    a full page shows it read). When that changed anything, the list refreshes once the thread
    is swapped in: after htmx has pushed the new URL, which tells the list which row is open."""
    if _find(conversation_id) is None and not is_htmx():
        if (switched := _switch_to_its_workspace(conversation_id)) is not None:
            return switched
    selected = _conversation_or_404(conversation_id)
    marked = teamwork.mark_read(current_user, selected)
    response = fragment_or_page(PAGE, THREAD, _thread_context(selected), page_context=_list_context)
    if marked and is_htmx():
        response.headers["HX-Trigger-After-Swap"] = UPDATED
    return response


def _switch_to_its_workspace(conversation_id: int) -> ResponseReturnValue | None:
    """A conversation of another workspace, opened from an email or a notification: operators
    serve every workspace, so the console switches to that one and opens it (None: no such
    conversation anywhere)."""
    if not in_id_range(conversation_id):
        return None
    workspace_id = inbox_service.workspace_id_of(conversation_id)
    workspace = next((w for w in all_workspaces() if w.id == workspace_id), None)
    if workspace is None:
        return None
    session["workspace"] = workspace.app_id
    flash(f"Switched to the workspace {workspace.name}, where this conversation is.", "info")
    return redirect(url_for("inbox.conversation", conversation_id=conversation_id), code=303)


@bp.get("/<int:conversation_id>/earlier")
@login_required
def earlier(conversation_id: int) -> ResponseReturnValue:
    """What "Load earlier messages" fetches: the messages before the `before` message id, with
    their notes and events (htmx: just those, and the control again while there are more;
    otherwise the whole page showing that window, with a link back to the latest messages).
    Reads only: 400 when `before` is not a message id."""
    selected = _conversation_or_404(conversation_id)
    before = id_arg("before")
    if before is None:
        abort(400)
    view = inbox_service.thread(selected, before_id=before)
    return fragment_or_page(
        PAGE,
        EARLIER,
        {"view": view},
        page_context=lambda: {**_list_context(paged=False), **_thread_context(selected, view)},
    )


@bp.get("/<int:conversation_id>/poll")
@login_required
def poll(conversation_id: int) -> ResponseReturnValue:
    """Polling: new messages, notes and events plus a fresh poller (and the header again when
    an event changed it); 204 when nothing is new, 286 stops polling. An answer carries at most
    `THREAD_LIMIT` messages; when more are waiting its poller asks again at once. While the tab
    is visible the visitor's messages count as read: the mark is set before the thread is read,
    so it never covers a message that this answer (or the ones it asks for at once) does not
    show."""
    selected = _find(conversation_id)
    if selected is None:
        return stop_polling()
    marked = request.headers.get(VISIBLE_HEADER) == "1" and teamwork.mark_read(
        current_user, selected
    )
    after, after_activity = _poll_cursor("after"), _poll_cursor("after_activity")
    view = inbox_service.thread(selected, after_id=after, after_activity_id=after_activity)
    if not view.messages and not view.activities:
        return Response(status=204, headers={"HX-Trigger": UPDATED} if marked else None)
    events = any(a.kind != ActivityKind.NOTE for a in view.activities)
    response = render_page_or_partial(
        "inbox/_poll.html",
        "inbox/_poll.html",
        view=view,
        header=events,
        **(_header_context() if events else {}),
    )
    if marked:
        response.headers["HX-Trigger"] = UPDATED
    return response


def _poll_cursor(name: str) -> int:
    """A poller's cursor: the last message or activity id it has (0: none; junk counts as 0)."""
    return min(max(request.args.get(name, type=int) or 0, 0), MAX_ID)


@bp.post("/<int:conversation_id>/reply")
@login_required
def reply(conversation_id: int) -> ResponseReturnValue:
    selected = _conversation_or_404(conversation_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            teamwork.reply(
                selected,
                current_user,
                form.body.data or "",
                now=clock.now(),
                policy=current_policy(),  # an unread reply may be emailed to a verified visitor
            )
        except ApiError as error:  # the widget's body rules (e.g. NUL characters) apply too
            form.body.errors = [error.message]
        else:
            return _updated(selected)
    return _invalid(selected, trigger=UPDATED, reply_form=form)


@bp.post("/<int:conversation_id>/note")
@login_required
def note(conversation_id: int) -> ResponseReturnValue:
    """A private note: the same text rules as a reply, never shown to the visitor."""
    selected = _conversation_or_404(conversation_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            teamwork.add_note(selected, current_user, form.note.data or "", now=clock.now())
        except ApiError as error:
            form.note.errors = [error.message]
        else:
            return _updated(selected)
    return _invalid(selected, note_form=form)


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


@bp.post("/<int:conversation_id>/assignee")
@login_required
def assign(conversation_id: int) -> ResponseReturnValue:
    """Assign to any active operator, or unassign with an empty choice."""
    selected = _conversation_or_404(conversation_id)
    form = AssignForm()
    if not form.validate_on_submit():
        abort(400)
    raw = (form.assignee.data or "").strip()
    assignee = parse_id(raw)
    if form.assignee.data is None or (raw and assignee is None):
        form.assignee.errors = [CHOOSE_OPERATOR]
        return _invalid(selected, assign_form=form)
    try:
        teamwork.assign(
            selected,
            assignee,
            operator=current_user,
            now=clock.now(),
        )
    except teamwork.UnknownOperator:
        form.assignee.errors = [UNKNOWN_OPERATOR]
        return _invalid(selected, assign_form=form)
    return _updated(selected)


@bp.get("/attention")
def attention() -> ResponseReturnValue:
    """What console.js polls: the unread count for the navigation and the tab title, and the
    newest visitor message since `after` for a desktop notification (JSON, never cached)."""
    if not current_user.is_authenticated:
        return _no_store(jsonify(error="Sign in to the console first."), 401)
    raw = request.args.get("after")
    if raw is not None and not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        return _no_store(jsonify(error="after must be the cursor of the previous answer."), 400)
    if not all_workspaces():
        return _no_store(jsonify(unread=0, unreadLabel="0", cursor=0, latest=None), 200)
    state = inbox_service.attention(
        current_workspace().id,
        current_user.id,
        after=int(raw) if raw is not None else None,
    )
    latest = None
    if state.arrival is not None:
        arrival = state.arrival
        text = " ".join(arrival.message.body.split())
        latest = {
            "conversationId": arrival.conversation.id,
            "messageId": arrival.message.id,
            "contact": _display_name(arrival.contact),
            "preview": text[:NOTIFICATION_PREVIEW]
            + ("…" if len(text) > NOTIFICATION_PREVIEW else ""),
            "newConversation": arrival.new_conversation,
            "others": arrival.others,
            "url": url_for("inbox.conversation", conversation_id=arrival.conversation.id),
        }
    return _no_store(
        jsonify(
            unread=state.unread,
            unreadLabel=inbox_service.unread_label(state.unread),
            cursor=state.cursor,
            latest=latest,
        ),
        200,
    )


def _display_name(contact: Contact) -> str:
    """How the console names a visitor (as the `who` macro does), as plain text."""
    if contact.name:
        return contact.name
    if contact.email:
        return contact.email
    if contact.external_id is not None:
        return contact.external_id
    return "Anonymous visitor"


def _no_store(response: Response, status: int) -> Response:
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _invalid(
    selected: Conversation, *, trigger: str | None = None, **forms: Any
) -> ResponseReturnValue:
    """422: the thread again with the refused form and its message."""
    return fragment_or_page(
        PAGE,
        THREAD,
        _thread_context(selected, **forms),
        page_context=_list_context,
        status=422,
        trigger=trigger,
    )


def _updated(selected: Conversation) -> ResponseReturnValue:
    """htmx: the refreshed thread, and the list refreshes too; plain posts: 303 back to the thread."""
    return fragment_or_redirect(
        THREAD,
        _thread_context(selected),
        redirect_to=url_for("inbox.conversation", conversation_id=selected.id),
        trigger=UPDATED,
    )
