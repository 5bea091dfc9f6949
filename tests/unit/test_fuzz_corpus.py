"""Every committed fuzz seed and every crash the fuzzer ever found is replayed here, in `make test`.

A target may raise only the project's own errors; a crash file under fuzz/crashes/ stays as the test of
its fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.targets import TARGETS, run

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
CASES = sorted(
    (kind, path.parent.name, path)
    for kind in ("seeds", "crashes")
    for path in (FUZZ / kind).glob("*/*")
    if path.is_file() and path.parent.name in TARGETS
)


def test_every_target_has_seeds():
    seeded = {target for kind, target, _ in CASES if kind == "seeds"}
    assert seeded == set(TARGETS)


@pytest.mark.parametrize(("kind", "target", "path"), CASES, ids=[f"{k}/{t}/{p.name}" for k, t, p in CASES])
def test_input_raises_only_project_errors(kind: str, target: str, path: Path):
    run(target, path.read_bytes())
