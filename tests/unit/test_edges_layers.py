"""Issue #14, "one door": the edges (gRPC servicers, console, CLI) only parse, call the application and convert.
No edge imports another, the CLI reads no storage itself, and no servicer or console page builds a part of the
application: exchange.app.wiring.Application builds each once."""

from __future__ import annotations

import ast
import configparser
from pathlib import Path

import grimp
import pytest

from exchange.testing import ROOT

EDGES = ("exchange.services", "exchange.console", "exchange.cli")
# The application's parts, by the words their class names end in (exchange.app.wiring.Application's fields).
PARTS = ("Desk", "Queries", "Registry", "Fetcher", "Accounts", "Supervisor")


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("exchange", exclude_type_checking_imports=True)


def _direct_imports(graph: grimp.ImportGraph, package: str, target: str) -> list[tuple[str, str]]:
    modules = {package, *graph.find_descendants(package)}
    return sorted(
        (module, imported)
        for module in modules
        for imported in graph.find_modules_directly_imported_by(module)
        if imported == target or imported.startswith(target + ".")
    )


def _contracts() -> list[configparser.SectionProxy]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    return [config[section] for section in config.sections() if section.startswith("importlinter:contract:")]


def _listed(section: configparser.SectionProxy, key: str) -> set[str]:
    return set(section.get(key, "").split())


def test_no_cli_module_imports_storage_directly() -> None:
    assert _direct_imports(_graph(), "exchange.cli", "exchange.storage") == []


@pytest.mark.parametrize("edge", EDGES)
def test_no_edge_imports_another_edge(edge: str) -> None:
    graph = _graph()
    wrong = [found for other in EDGES if other != edge for found in _direct_imports(graph, edge, other)]
    assert wrong == []


def test_the_import_contracts_forbid_the_cli_to_import_storage() -> None:
    assert [
        c
        for c in _contracts()
        if c.get("type") == "forbidden"
        and "exchange.cli" in _listed(c, "source_modules")
        and "exchange.storage" in _listed(c, "forbidden_modules")
    ], "add a contract 'CLI imports no storage' to .importlinter"


def test_the_import_contracts_keep_the_servicers_and_the_console_apart() -> None:
    independent = [
        c
        for c in _contracts()
        if c.get("type") == "independence" and {"exchange.services", "exchange.console"} <= _listed(c, "modules")
    ]
    assert independent, "add an independence contract of exchange.services and exchange.console to .importlinter"


def test_the_import_contracts_forbid_the_cli_to_call_another_edge() -> None:
    assert [
        c
        for c in _contracts()
        if c.get("type") == "forbidden"
        and "exchange.cli" in _listed(c, "source_modules")
        and {"exchange.services", "exchange.console"} <= _listed(c, "forbidden_modules")
    ], "add a contract 'the CLI calls no other edge' to .importlinter"


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
