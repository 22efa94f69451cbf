"""Contacts and Organizations directories, with search and keyset paging.

What they show: docs/operations.md, "The console".
"""

from __future__ import annotations

from typing import TypeVar

from flask import Blueprint, abort, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from promptify.blueprints.console import current_workspace, id_arg
from promptify.extensions import db
from promptify.htmx import render_page_or_partial
from promptify.models import Contact, Organization
from promptify.services import directory as directory_service
from promptify.services.search import Cursor, in_id_range, search_terms

bp = Blueprint("directory", __name__)
ModelT = TypeVar("ModelT", Contact, Organization)


def _in_workspace_or_404(model: type[ModelT], row_id: int) -> ModelT:
    """The row of the current workspace, or 404 (rows of other workspaces do not exist here, nor
    ids beyond the column's range)."""
    found = db.session.get(model, row_id) if in_id_range(row_id) else None
    if found is None or found.workspace_id != current_workspace().id:  # type: ignore[attr-defined]
        abort(404)
    return found


@bp.get("/contacts")
@login_required
def contacts() -> ResponseReturnValue:
    q = search_terms(request.args.get("q", ""))
    rows, cursor = directory_service.list_contacts(
        current_workspace().id, q=q, before=Cursor.decode(request.args.get("before"))
    )
    return render_page_or_partial(
        "directory/contacts.html",
        "directory/_contacts.html",
        rows=rows,
        cursor=cursor,
        q=q,
        claims=directory_service.email_claims(rows),
    )


@bp.get("/contacts/<int:contact_id>")
@login_required
def contact(contact_id: int) -> ResponseReturnValue:
    found = _in_workspace_or_404(Contact, contact_id)
    panel = directory_service.contact_panel(found)
    return render_page_or_partial("directory/contact.html", "inbox/_panel.html", panel=panel)


@bp.get("/organizations")
@login_required
def organizations() -> ResponseReturnValue:
    q = search_terms(request.args.get("q", ""))
    after_name, after_id = request.args.get("after_name"), id_arg("after_id")
    rows, cursor = directory_service.list_organizations(
        current_workspace().id, q=q, after_name=after_name, after_id=after_id
    )
    return render_page_or_partial(
        "directory/organizations.html",
        "directory/_organizations.html",
        rows=rows,
        cursor=cursor,
        q=q,
    )


@bp.get("/organizations/<int:organization_id>")
@login_required
def organization(organization_id: int) -> ResponseReturnValue:
    found = _in_workspace_or_404(Organization, organization_id)
    members = directory_service.organization_members(found)
    return render_page_or_partial(
        "directory/organization.html",
        "directory/organization.html",
        organization=found,
        members=members,
    )
