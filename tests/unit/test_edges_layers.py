"""Issue #14, "one door": the edges (gRPC servicers, console, CLI) only parse, call the application and convert.
No edge imports another, the CLI reads no storage itself, and no servicer or console page builds a part of the
application: exchange.app.wiring.Application builds each once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from exchange.testing import ROOT

# The application's parts, by the words their class names end in (exchange.app.wiring.Application's fields).
PARTS = ("Desk", "Queries", "Registry", "Fetcher", "Accounts", "Supervisor")


def _parts_built_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sorted(
        f"{path.relative_to(ROOT)}:{node.lineno} {node.func.id}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.endswith(PARTS)
    )


@pytest.mark.parametrize("package", ["exchange/services", "exchange/console"])
def test_no_servicer_or_console_page_builds_a_part_of_the_application(package: str) -> None:
    """The hub's servicers and console get every desk from the Application (the CLI's embedded commands, which
    run without a hub, build theirs)."""
    built = [found for path in sorted((ROOT / package).glob("*.py")) for found in _parts_built_in(path)]
    assert built == []
