"""Every repository path a reader is pointed to exists: the docs name no module or page that has moved.

A path is `exchange/...py`, `catalog/...py`, `adapters/...py` or `docs/...md` in README.md, README.zh-CN.md,
docs/*.md or docs/zh/*.md. A path followed by "(now" is history (a measurement taken before a move, with
where the code lives now) and is not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", ROOT / "README.zh-CN.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCS += sorted((ROOT / "docs" / "zh").glob("*.md"))

PATH = re.compile(r"(?<![\w/.-])((?:exchange|catalog|adapters)/[\w/]*\w\.py|docs/[\w/-]*\w\.md)(?![\w/])")
HISTORY = re.compile(r"`?\s*\(now\b")


def stale_references(doc: Path) -> list[str]:
    """The `line: path` of each path `doc` names that is not in the repository."""
    text = doc.read_text(encoding="utf-8")
    stale = []
    for match in PATH.finditer(text):
        if HISTORY.match(text, match.end()):
            continue
        if not (ROOT / match.group(1)).exists():
            line = text.count("\n", 0, match.start()) + 1
            stale.append(f"{line}: {match.group(1)}")
    return stale


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: str(doc.relative_to(ROOT)))
def test_every_path_a_doc_names_exists(doc: Path) -> None:
    assert stale_references(doc) == []


def test_the_docs_are_found() -> None:
    assert len(DOCS) > 10
