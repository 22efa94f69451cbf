"""Settings › Team: operators, their roles, adding and deactivating them, and whether everyone
must use two-factor sign-in (admins only).

The last active admin can be neither demoted nor deactivated (docs/operations.md, "The console").
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from promptify import clock
from promptify.blueprints.audit import current_actor
from promptify.blueprints.auth import current_session_id, role_required
from promptify.extensions import db
from promptify.forms import OperatorCreateForm, OperatorRoleForm, RequireTwoFactorForm
from promptify.htmx import client_redirect, fragment_or_redirect, render_page_or_partial
from promptify.models import Operator, Role
from promptify.services import operators, two_factor

bp = Blueprint("team", __name__, url_prefix="/settings/team")

PAGE = "settings/team.html"


def _context(form: OperatorCreateForm | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "operators": operators.list_operators(),
        "form": form or OperatorCreateForm(formdata=None),
        "roles": [role.value for role in Role],
        "require_two_factor": two_factor.is_required(),
        "without_two_factor": two_factor.operators_without(),
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
                actor=current_actor(),
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
            operators.set_role(
                operator,
                form.role.data or "",
                now=clock.now(),
                actor=current_actor(),
                # an admin changing their own role stays signed in here
                keep_session_id=current_session_id() if operator.id == current_user.id else None,
            )
        except operators.OperatorRuleBroken as broken:  # the last admin
            error = str(broken)
    return _list_response(operator, error, f"{operator.email} is now {operator.role}.")


@bp.post("/<int:operator_id>/deactivate")
@role_required("admin")
def deactivate(operator_id: int) -> ResponseReturnValue:
    operator = db.get_or_404(Operator, operator_id)
    error = None
    try:
        operators.deactivate(operator, now=clock.now(), actor=current_actor())
    except operators.OperatorRuleBroken as broken:  # the last admin, possibly oneself
        error = str(broken)
    done = f"{operator.email} is deactivated and can no longer sign in."
    return _list_response(operator, error, done)


@bp.post("/two-factor")
@role_required("admin")
def require_two_factor() -> ResponseReturnValue:
    """Require two-factor sign-in of every operator, or stop requiring it."""
    form = RequireTwoFactorForm()
    if not form.validate_on_submit():
        flash("Nothing was changed: send the form again.", "error")
        return redirect(url_for("team.index"), code=303)
    required = bool(form.require_two_factor.data)
    two_factor.set_required(required, now=clock.now())
    if required:
        flash(
            "Two-factor sign-in is required: operators without it are asked to set it up right "
            "after their password, or at their next click if they are signed in.",
            "success",
        )
    else:
        flash(
            "Two-factor sign-in is no longer required; those who set it up keep using it.",
            "success",
        )
    return redirect(url_for("team.index"), code=303)
