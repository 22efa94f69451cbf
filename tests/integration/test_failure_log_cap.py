"""The failure log is bounded per workspace (docs/operations.md, "Configuration"): the newest
`PROMPTIFY_FAILURE_LOG_ROWS` refusals are kept, the older ones deleted and counted, and the
Security page says how many were not kept."""

from __future__ import annotations

from sqlalchemy import select

from promptify.extensions import db
from promptify.models import IdentifyFailure, Workspace
from tests.factories import identify, make_workspace


def _refuse(client, app_id: str, n: int) -> None:
    for i in range(n):
        response = identify(client, app_id, {"id": f"user-{i}", "name": 5})  # name must be text
        assert response.status_code == 422


def test_the_newest_refusals_are_kept_and_the_others_counted(app, client, login):
    app.config["FAILURE_LOG_ROWS"] = 3
    capped, other = make_workspace(app), make_workspace(app)
    _refuse(client, capped, 5)
    _refuse(client, other, 2)
    with app.app_context():
        kept = db.session.scalars(
            select(IdentifyFailure.message)
            .join(Workspace, Workspace.id == IdentifyFailure.workspace_id)
            .where(Workspace.app_id == capped)
            .order_by(IdentifyFailure.id)
        ).all()
        dropped = {w.app_id: w.failures_dropped for w in db.session.scalars(select(Workspace))}
    assert len(kept) == 3
    assert dropped == {capped: 2, other: 0}
    login("admin")
    page = client.get("/settings/messenger/security").get_data(as_text=True)
    assert "2 older refusals were not kept: the log holds the newest 3." in page
