"""The layers (docs/README.md, "The code"): pure identity rules, services that own their transaction, thin
views. Read from the source, so a shortcut across a layer fails here before review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "promptify"


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module and `module.name` a file imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _label(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


@pytest.mark.parametrize("path", _modules("identity"), ids=_label)
def test_identity_rules_are_pure(path):
    """No web framework, no database: the rules take their inputs (and the time) as arguments."""
    forbidden = (
        "flask",
        "sqlalchemy",
        "flask_sqlalchemy",
        "promptify.extensions",
        "promptify.models",
        "promptify.services",
        "promptify.blueprints",
    )
    offending = {
        name
        for name in _imports(path)
        if name.split(".")[0] in forbidden or name.startswith(forbidden)
    }
    assert not offending, f"{_label(path)} imports {sorted(offending)}"


REQUEST_GLOBALS = {
    "flask.request",
    "flask.g",
    "flask.session",
    "flask.current_app",
    "flask_login.current_user",
}


@pytest.mark.parametrize("path", _modules("services"), ids=_label)
def test_services_never_read_the_request(path):
    """Services receive what the request said, the time and the policy as arguments, so the CLI
    and tests call them alike."""
    offending = _imports(path) & REQUEST_GLOBALS
    assert not offending, f"{_label(path)} imports {sorted(offending)}"


def _calls_commit(path: Path) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


@pytest.mark.parametrize("path", _modules("blueprints"), ids=_label)
def test_views_never_commit(path):
    """A view calls one service, which owns the transaction: no partial writes from a view."""
    assert _calls_commit(path) == [], f"{_label(path)} commits at lines {_calls_commit(path)}"


def test_only_the_transaction_helper_commits_in_services():
    """Every service write goes through `transaction.write()` (SQLite's write lock, rollback on error)."""
    committing = {_label(p) for p in _modules("services") if _calls_commit(p)}
    assert committing == {"promptify/services/transaction.py"}
