"""The client and the adapter SDK load without the hub: a department system installs neither the hub's
database layer nor its console. (The import contracts in .importlinter say the same statically.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HUB = {
    "exchange.hub",
    "exchange.server",
    "exchange.storage",
    "exchange.console",
    "exchange.fetch",
    "exchange.registry",
    "exchange.services",
    "alembic",
    "jinja2",
}
# The client needs no database driver or web stack at all; the adapter SDK's SQL and REST sources load
# SQLAlchemy and aiohttp only when a config names such a source.
NOT_LOADED = {
    "exchange.client": HUB | {"sqlalchemy", "aiohttp"},
    "adapters.server": HUB | {"sqlalchemy", "aiohttp"},
    "adapters.sdk": HUB | {"sqlalchemy", "aiohttp"},
    "adapters.config": HUB | {"sqlalchemy", "aiohttp"},
    # The composition root is production code: it never loads the test harness (which loads psutil & co).
    "exchange.bootstrap": {"exchange.testing"},
    # `exchange --help` and `exchange serve` never load the benchmarks (bench needs the dev extra).
    "exchange.cli": {"bench", "exchange.testing"},
}


def _loaded(module: str) -> set[str]:
    probe = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("module", sorted(NOT_LOADED))
def test_importing_loads_nothing_of_the_hub(module: str) -> None:
    forbidden = NOT_LOADED[module]
    loaded = {m for m in _loaded(module) if m in forbidden or m.split(".")[0] in forbidden}
    assert loaded == set()
