"""One recorder: every access-log entry the hub writes is built by exchange/audit/recorder.py (`entry_of`),
so no second piece of code has its own idea of deny, outcome or who asked."""

from __future__ import annotations

import ast

from exchange.testing import ROOT

# The entry's own module decodes stored bytes into entries; the recorder builds every new one.
ALLOWED = {"exchange/audit/entry.py", "exchange/audit/recorder.py"}


def _builders_of_entries() -> list[str]:
    found = []
    for path in sorted((ROOT / "exchange").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name in ALLOWED or name.startswith("exchange/v1/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "AccessLogEntry":
                found.append(f"{name}:{node.lineno}")
    return found


def test_no_module_but_the_recorder_builds_an_access_log_entry() -> None:
    assert _builders_of_entries() == [], "build entries with exchange.audit.recorder.entry_of"
