"""Every document the code cites ships with the repository, and every cited section exists.

Pure: reads files only (no app, no database). Three rules:

- no text file names one of the design documents the repository never shipped;
- a `docs/<name>.md` reference in promptify/, tests/, bench/, README.md or docs/ names an
  existing file, and a section it names (`docs/<name>.md, "Heading"` or `docs/<name>.md#anchor`)
  is a heading of that file;
- a relative Markdown link in README.md or docs/*.md points to an existing file and, for a
  Markdown target, to an existing heading anchor.

Anchors follow GitHub: the heading's text lower-cased, punctuation dropped, spaces turned into
hyphens, and `-1`, `-2`, ... appended to repeated headings.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SKIPPED_DIRS = {
    ".git",
    ".venv",
    "node_modules",
    "test-output",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    "instance",
    "build",
}
CITING_ROOTS = ("promptify/", "tests/", "bench/", "docs/")
CITING_FILES = ("README.md",)

# Written in pieces so that this file does not name them itself.
RETIRED = ("PRODUCT" + ".md", "SECURITY" + "-NOTES", "STYLE" + ".md", "seed" + "/000")

_DOC_NAME = r"docs/(?P<name>[A-Za-z0-9_-]+)\.md"
DOC_FILE_REF = re.compile(_DOC_NAME)
DOC_HEADING_REF = re.compile(_DOC_NAME + r",\s*[\"“](?P<heading>[^\"”\n]+)[\"”]")
DOC_ANCHOR_REF = re.compile(_DOC_NAME + r"#(?P<anchor>[A-Za-z0-9_-]+)")

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
INLINE_CODE = re.compile(r"`[^`\n]*`")
MD_LINK = re.compile(r"!?\[[^\]\n]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"\n]*\")?\)")
MD_LINK_TEXT = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")


# --- files -------------------------------------------------------------------------------


@cache
def repository_files() -> tuple[str, ...]:
    """Tracked and untracked-but-not-ignored files (git), else a walk of the tree."""
    try:
        out = subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode("utf-8")
        names = [name for name in out.split("\0") if name]
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        names = []
        for directory, subdirs, files in os.walk(ROOT):
            subdirs[:] = [
                d for d in subdirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")
            ]
            rel = Path(directory).relative_to(ROOT)
            names.extend((rel / f).as_posix() for f in files)
    return tuple(sorted(n for n in set(names) if (ROOT / n).is_file()))


@cache
def text_of(name: str) -> str | None:
    """The file's text, or None for a binary or non-UTF-8 file."""
    data = (ROOT / name).read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def text_files() -> list[str]:
    return [name for name in repository_files() if text_of(name) is not None]


def citing_files() -> list[str]:
    return [n for n in text_files() if n.startswith(CITING_ROOTS) or n in CITING_FILES]


def markdown_pages() -> list[str]:
    return [
        n
        for n in text_files()
        if n in CITING_FILES or (n.startswith("docs/") and n.endswith(".md"))
    ]


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


# --- headings and anchors ---------------------------------------------------------------------


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a heading's text (without the `-N` suffix of repeated headings)."""
    text = MD_LINK_TEXT.sub(r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def plain(heading: str) -> str:
    """A heading's text as read: links reduced to their text, backticks dropped."""
    return MD_LINK_TEXT.sub(r"\1", heading).replace("`", "").strip()


@cache
def headings_of(path: Path) -> tuple[str, ...]:
    """The ATX headings of a Markdown file, outside fenced code blocks, in order."""
    found: list[str] = []
    in_fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if match:
            found.append(match["text"])
    return tuple(found)


@cache
def anchors_of(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for heading in headings_of(path):
        base = github_anchor(heading)
        count = seen.get(base, 0)
        anchors.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return frozenset(anchors)


# --- the checker's own rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Trust lifecycle", "trust-lifecycle"),
        ("The checks, in order", "the-checks-in-order"),
        (
            "Keeping the session verified: `setTokenProvider`",
            "keeping-the-session-verified-settokenprovider",
        ),
        ("`POST /widget/v1/apps/{appId}/identify`", "post-widgetv1appsappididentify"),
        ("Node (`jose`)", "node-jose"),
        ("Settings › Messenger", "settings--messenger"),
    ],
)
def test_github_anchor(heading: str, anchor: str) -> None:
    assert github_anchor(heading) == anchor


def test_headings_inside_code_blocks_are_not_headings() -> None:
    headings = headings_of(DOCS / "identification.md")
    assert "Signed identification" in headings
    assert not any(h.startswith("Once, at startup") for h in headings)


def test_repeated_headings_get_numbered_anchors(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Notes\n\n## Setup\n\n```sh\n# not a heading\n```\n\n## Setup\n", encoding="utf-8"
    )
    assert anchors_of(page) == {"notes", "setup", "setup-1"}


def test_the_scan_sees_the_repository() -> None:
    names = citing_files()
    assert "docs/security.md" in names and "promptify/identity/tokens/verify.py" in names
    references = sum(len(DOC_FILE_REF.findall(text_of(n) or "")) for n in names)
    assert references >= 20, "the reference pattern no longer matches the citations in use"


# --- the repository ---------------------------------------------------------------------------


def test_no_file_names_a_document_the_repository_does_not_ship() -> None:
    found = [
        f"{name}:{line_of(text, match.start())}: {match.group()}"
        for name in text_files()
        for text in [text_of(name) or ""]
        for match in re.finditer("|".join(re.escape(r) for r in RETIRED), text)
    ]
    assert not found, "cite a docs/ section, an RFC, or state the rule instead:\n" + "\n".join(
        found
    )


def test_docs_references_name_existing_files_and_headings() -> None:
    problems: list[str] = []
    for name in citing_files():
        text = text_of(name) or ""
        for match in DOC_FILE_REF.finditer(text):
            if not (DOCS / f"{match['name']}.md").is_file():
                problems.append(
                    f"{name}:{line_of(text, match.start())}: no such file {match.group()}"
                )
        for match in DOC_HEADING_REF.finditer(text):
            doc = DOCS / f"{match['name']}.md"
            if doc.is_file() and plain(match["heading"]) not in {
                plain(h) for h in headings_of(doc)
            }:
                problems.append(
                    f"{name}:{line_of(text, match.start())}: docs/{match['name']}.md has no heading "
                    f'"{match["heading"]}"; its headings are {list(headings_of(doc))}'
                )
        for match in DOC_ANCHOR_REF.finditer(text):
            doc = DOCS / f"{match['name']}.md"
            if doc.is_file() and match["anchor"] not in anchors_of(doc):
                problems.append(
                    f"{name}:{line_of(text, match.start())}: docs/{match['name']}.md has no anchor "
                    f"#{match['anchor']}; its anchors are {sorted(anchors_of(doc))}"
                )
    assert not problems, "\n".join(problems)


def test_relative_markdown_links_resolve() -> None:
    problems: list[str] = []
    for name in markdown_pages():
        page = ROOT / name
        in_fence = False
        for number, line in enumerate((text_of(name) or "").splitlines(), start=1):
            if FENCE.match(line):
                in_fence = not in_fence
                continue
            if in_fence:
                continue
            for match in MD_LINK.finditer(INLINE_CODE.sub("", line)):
                target = match["target"]
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
                    continue
                path_part, _, anchor = target.partition("#")
                linked = (page.parent / path_part).resolve() if path_part else page
                where = f"{name}:{number}: {target}"
                if not linked.exists():
                    problems.append(f"{where}: no such file")
                elif anchor and linked.suffix == ".md" and anchor not in anchors_of(linked):
                    problems.append(
                        f"{where}: no such heading; anchors are {sorted(anchors_of(linked))}"
                    )
    assert not problems, "\n".join(problems)
