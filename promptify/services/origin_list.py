"""Allowed origins edited as text, one per line (Settings › Messenger › Installation), on top of
`workspaces`.

`workspaces.normalise_origin` is the rule; this module adds what a textarea needs: every bad
line reported at once with its line number, and the limits of the `allowed_origin` table.
"""

from __future__ import annotations

from datetime import datetime

from promptify.models import Workspace
from promptify.services import audit, workspaces
from promptify.services.audit import Actor

MAX_ORIGINS = 100
MAX_ORIGIN_LENGTH = 255  # allowed_origin.origin is VARCHAR(255)


class OriginListRejected(ValueError):
    """One admin-facing message per bad line, each starting with "Line N:"."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def _one(number: int, line: str) -> str:
    value = line.strip()
    try:
        origin = workspaces.normalise_origin(value)
    except workspaces.InvalidOrigin as error:
        raise OriginListRejected([f"Line {number}: {error}"]) from None
    if len(origin) > MAX_ORIGIN_LENGTH:
        raise OriginListRejected(
            [f"Line {number}: {value[:100]!r} is longer than {MAX_ORIGIN_LENGTH} characters"]
        )
    return origin


def parse_origin_lines(text: str) -> list[str]:
    """Normalised, de-duplicated, sorted origins; blank lines are ignored.

    Raises OriginListRejected naming every offending line (1-based), so one submit shows all.
    """
    origins: set[str] = set()
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            origins.add(_one(number, line))
        except OriginListRejected as rejected:
            errors.extend(rejected.errors)
    if len(origins) > MAX_ORIGINS:
        errors.append(f"At most {MAX_ORIGINS} origins; this list has {len(origins)}.")
    if errors:
        raise OriginListRejected(errors)
    return sorted(origins)


def replace_origins(
    workspace: Workspace, text: str, *, now: datetime, actor: Actor = audit.SYSTEM
) -> list[str]:
    """Replace the workspace's allowed origins (an empty list allows any origin)."""
    origins = parse_origin_lines(text)
    workspaces.set_origins(workspace, origins, now=now, actor=actor)
    return [o.origin for o in workspace.origins]
