"""Every audited change made by the console, the command line or the demo names who made it
(docs/security.md, "Audit log"): the services accept a missing actor (recorded as `system`, for
scripts), so the callers inside the package are checked here, from the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "promptify"
AUDITED = {
    "add_key",
    "revoke_key",
    "set_require_jwt",
    "set_origins",
    "replace_origins",
    "create_operator",
    "set_up_operator",
    "set_role",
    "deactivate",
    "activate",
    "reset_password",
}
CALLERS = sorted(
    [*(PACKAGE / "blueprints").rglob("*.py"), PACKAGE / "cli.py", *(PACKAGE / "demo").rglob("*.py")]
)


def _audited_calls(path: Path) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in AUDITED
    ]


@pytest.mark.parametrize("path", CALLERS, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_audited_calls_name_their_actor_and_time(path):
    missing = [
        f"line {call.lineno}: {ast.unparse(call.func)}"
        for call in _audited_calls(path)
        if not {"actor", "now"} <= {keyword.arg for keyword in call.keywords}
    ]
    assert not missing, f"{path.name} calls audited services without actor= and now=: {missing}"


def test_the_check_sees_the_callers():
    """The views, the command line and the demo do call audited services (a renamed service
    would otherwise pass the check above silently)."""
    names = {call.func.attr for path in CALLERS for call in _audited_calls(path)}
    assert names >= {
        "add_key",
        "revoke_key",
        "set_require_jwt",
        "replace_origins",  # which calls set_origins
        "create_operator",
        "set_up_operator",
        "set_role",
        "deactivate",
    }
