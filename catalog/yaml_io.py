"""Spec files: one object read from YAML or JSON text, a syntax error named by source, line and column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from catalog.errors import InvalidArgument
from catalog.spec_reader import kind_of


def load_spec_file(path: str | Path) -> dict[str, Any]:
    """Read one object from a .yaml/.yml/.json file; a syntax error names the file and line."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise InvalidArgument(
            f"{p}: unsupported file type {suffix!r}; use .yaml, .yml or .json", reason="MALFORMED_FILE"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"{p}: cannot read the file: {exc}", reason="MALFORMED_FILE") from None
    return load_spec_text(text, str(p), json_only=suffix == ".json")


def load_spec_text(text: str, source: str, *, json_only: bool = False) -> dict[str, Any]:
    """Parse one object from YAML (or JSON) text; a syntax error names the source and line."""
    try:
        data = json.loads(text) if json_only else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"{source}, line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}", reason="MALFORMED_FILE"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidArgument(f"{source}{where}: invalid YAML: {problem}", reason="MALFORMED_FILE") from None
    if not isinstance(data, dict):
        raise InvalidArgument(
            f"{source}: expected one object (a mapping) at the top, found {kind_of(data)}",
            reason="MALFORMED_FILE",
        )
    return data
