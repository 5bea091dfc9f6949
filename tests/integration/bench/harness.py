"""Runs `python -m bench` at tiny sizes and reads the JSON it writes (with the machine and the command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def run_bench(results: Path, *args: str, timeout: float = 110) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--results-dir", str(results), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (written,) = results.glob(f"{args[0]}-*.json")
    body: dict[str, Any] = json.loads(written.read_text())
    assert body["machine"]["cores"] and body["machine"]["grpcio"]
    assert body["command"].endswith(" ".join(args))
    return body
