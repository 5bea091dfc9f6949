"""Node.js (node:crypto and the pinned `canonicalize` package) verifies what the hub served, from the spec alone.

tests/interop/node/verify-document.mjs implements docs/document-format.md without our code: the committed
vectors, then a minimised document served by a real hub Fetch; altered, added and dropped fields fail,
naming the field.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.hub.test_served_document import SERVED, added, altered, dropped, fetched, rewrite, world
from tests.interop.nodejs import NODE_DIR, node_command, run_node

__all__ = ["world"]  # the fixture: a hub, SAMR's adapter, an open case and a grant

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "documents"


async def node_verify(file: Path, key: Path) -> tuple[int, dict[str, Any]]:
    """Run the Node verifier on a saved FetchResponse: its exit status and its JSON verdict."""
    process = await asyncio.create_subprocess_exec(
        node_command(), "verify-document.mjs", "served", str(file), "--key", str(key),
        cwd=NODE_DIR, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode in (0, 1), err.decode()
    return process.returncode or 0, json.loads(out)


async def test_node_reproduces_every_committed_vector() -> None:
    assert await run_node("verify-document.mjs", "vectors", str(VECTORS)) == {"jcs": 5, "documents": 3, "legacy": 1}


async def test_node_verifies_a_minimised_fetch_from_a_real_hub(world: Any, tmp_path: Path) -> None:
    code, verdict = await node_verify(await fetched(world, tmp_path), world["key"])
    assert code == 0 and verdict["ok"], verdict
    assert verdict["document"] == {name: world["doc"][name] for name in SERVED}
    assert verdict["withheld"] > 0


@pytest.mark.parametrize(
    ("change", "field"), [(altered, "status"), (added, "legal_representative"), (dropped, "address")]
)
async def test_node_refuses_an_altered_added_or_dropped_field_naming_it(
    world: Any, tmp_path: Path, change: Any, field: str
) -> None:
    path = await fetched(world, tmp_path)
    rewrite(path, change)
    code, verdict = await node_verify(path, world["key"])
    assert (code, verdict["ok"], verdict["field"]) == (1, False, field), verdict
