"""Running the scripts of tests/interop/node from pytest: find node, run a script, read its JSON."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "node"
NODE_TIMEOUT_SECONDS = 60


def node_command() -> str:
    """The node binary, or a failure that says what to install (never a skip: this test must run)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node.js 20 or later (Debian: apt-get install nodejs npm)")
    if not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        pytest.fail(f"the Node packages are not installed: run `make node-deps` (npm ci --prefix {NODE_DIR})")
    return node


async def run_node(*args: str) -> Any:
    """Run a script of tests/interop/node (without blocking the hub on this loop); its JSON output."""
    process = await asyncio.create_subprocess_exec(
        node_command(),
        *args,
        cwd=NODE_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), NODE_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"node {' '.join(args[:1])} did not finish in {NODE_TIMEOUT_SECONDS} s")
    assert process.returncode == 0, f"node exited {process.returncode}: {err.decode(errors='replace')}"
    return json.loads(out)
