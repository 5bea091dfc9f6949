"""The Python client speaks in dataclasses: no public method returns (or yields) generated protobuf, and the
generated stubs are not part of its surface. The CLI builds no protobuf: it uses the typed client only."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from exchange.client import HubClient

ROOT = Path(__file__).resolve().parents[2]


def _public_methods() -> dict[str, object]:
    return {
        name: member
        for name, member in inspect.getmembers(HubClient, inspect.isfunction)
        if not name.startswith("_") and name not in {"call", "stream"}
    }


def test_no_public_method_returns_protobuf() -> None:
    wire = {
        name: method.__annotations__.get("return")
        for name, method in _public_methods().items()
        if "_pb2" in str(method.__annotations__.get("return"))
    }
    assert wire == {}


def test_every_public_method_says_what_it_returns() -> None:
    assert [name for name, method in _public_methods().items() if "return" not in method.__annotations__] == []


def test_the_stubs_are_private() -> None:
    source = inspect.getsource(HubClient.__init__)
    assert re.findall(r"self\.([a-z]\w*) = \w+_pb2_grpc\.", source) == []
    assert "self._stubs = Stubs(channel)" in source


def test_the_cli_builds_no_protobuf() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "exchange" / "cli").glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"_pb2\b|from exchange\.v1 import|\._stubs\.|\bexchange\.services\b", line)
    ]
    assert offenders == []
