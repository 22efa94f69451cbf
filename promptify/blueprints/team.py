"""Settings › Team: operators, their roles, adding and deactivating them (admins only).

The last active admin can be neither demoted nor deactivated (docs/operations.md, "The console").
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from promptify import clock
from promptify.blueprints.auth import role_required
from promptify.extensions import db
from promptify.forms import OperatorCreateForm, OperatorRoleForm
from promptify.htmx import client_redirect, fragment_or_redirect, render_page_or_partial
from promptify.models import Operator, Role
from promptify.services import operators

bp = Blueprint("team", __name__, url_prefix="/settings/team")

PAGE = "settings/team.html"


def _context(form: OperatorCreateForm | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "operators": operators.list_operators(),
        "form": form or OperatorCreateForm(formdata=None),
        "roles": [role.value for role in Role],
        **extra,
    }


def _left_admin_area(operator: Operator) -> bool:
    """True when the signed-in admin just demoted or deactivated themselves."""
    return operator.id == current_user.id and (operator.role != "admin" or not operator.active)


def _list_response(operator: Operator, error: str | None, done: str) -> ResponseReturnValue:
    """htmx: the operator list (422 with the error); plain posts: flash and 303 (PRG)."""
    if error is None and _left_admin_area(operator):  # the team page is no longer theirs to see
        return client_redirect(url_for("inbox.index"), flash=done)
    return fragment_or_redirect(
        "settings/_operator_list.html",
        _context(list_error=error, list_notice=None if error else done),
        redirect_to=url_for("team.index"),
        flash=error or done,
        category="error" if error else "success",
        status=422 if error else 200,
    )


@bp.get("")
@role_required("admin")
def index() -> ResponseReturnValue:
    return render_template(PAGE, **_context())


@bp.post("")
@role_required("admin")
def create() -> ResponseReturnValue:
    form = OperatorCreateForm()
    if form.validate_on_submit():
        try:
            operator = operators.create_operator(
                form.email.data or "",
                form.name.data or "",
                form.role.data or "agent",
                form.password.data or "",
                now=clock.now(),
            )
        except operators.OperatorRuleBroken as error:  # the duplicate email
            form.email.errors.append(str(error))
        else:
            done = f"Added {operator.email} as {operator.role}."
            return fragment_or_redirect(
                "settings/_operator_created.html",
                _context(created=done),
                redirect_to=url_for("team.index"),
                flash=done,
            )
    return render_page_or_partial(PAGE, "settings/_operator_form.html", 422, **_context(form))


@bp.post("/<int:operator_id>/role")
@role_required("admin")
def change_role(operator_id: int) -> ResponseReturnValue:
    operator = db.get_or_404(Operator, operator_id)
    form = OperatorRoleForm()
    error = None
    if not form.validate_on_submit():
        error = "Choose a role: admin or agent."
    else:
        try:
            operators.set_role(operator, form.role.data or "")
        except operators.OperatorRuleBroken as broken:  # the last admin
            error = str(broken)
    return _list_response(operator, error, f"{operator.email} is now {operator.role}.")


@bp.post("/<int:operator_id>/deactivate")
@role_required("admin")
def deactivate(operator_id: int) -> ResponseReturnValue:
    operator = db.get_or_404(Operator, operator_id)
    error = None
    try:
        operators.deactivate(operator)
    except operators.OperatorRuleBroken as broken:  # the last admin, possibly oneself
        error = str(broken)
    done = f"{operator.email} is deactivated and can no longer sign in."
    return _list_response(operator, error, done)
