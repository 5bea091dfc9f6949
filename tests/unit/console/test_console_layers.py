"""The console is an edge: it reads and writes through the application (exchange.app), never storage."""

from __future__ import annotations

import configparser

import grimp

from exchange.testing import ROOT


def test_no_console_module_imports_storage_directly() -> None:
    graph = grimp.build_graph("exchange", exclude_type_checking_imports=True)
    console = {"exchange.console", *graph.find_descendants("exchange.console")}
    wrong = sorted(
        (module, imported)
        for module in console
        for imported in graph.find_modules_directly_imported_by(module)
        if imported == "exchange.storage" or imported.startswith("exchange.storage.")
    )
    assert wrong == []


def test_the_import_contracts_forbid_the_console_to_import_storage() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    forbidding = [
        section
        for section in config.sections()
        if config[section].get("type") == "forbidden"
        and "exchange.console" in config[section].get("source_modules", "").split()
        and "exchange.storage" in config[section].get("forbidden_modules", "").split()
    ]
    assert forbidding, "add a contract 'console imports no storage' to .importlinter"
