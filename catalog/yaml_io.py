"""Spec files: one object read from YAML or JSON text, a syntax error named by source, line and column.

`load_yaml_text` parses a file whose reader has its own reason code (settings, a CLI profile) the same way.
Where a reader's messages should say on which line a key is (a calendar file), `load_located_text` gives the
line of every key path too, and `at_lines` puts it in front of each problem the `SpecReader` noted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from catalog.spec_reader import kind_of
from exchange.errors import FieldViolation, InvalidArgument

_STR, _MERGE = "tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"


class _SpecLoader(yaml.SafeLoader):
    """YAML's safe loader that leaves mistakes for the reader to name as written.

    A key is the text written (``no:`` is the key "no", not False), and an impossible date (2026-13-01)
    stays text instead of stopping the load.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        for i, (key_node, value_node) in enumerate(node.value):
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag not in (_STR, _MERGE):
                node.value[i] = (yaml.ScalarNode(_STR, key_node.value, key_node.start_mark), value_node)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except ValueError:
            return self.construct_scalar(node)  # type: ignore[arg-type]


_SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", _SpecLoader.construct_yaml_timestamp)


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
        data = json.loads(text) if json_only else yaml.load(text, Loader=_SpecLoader)  # noqa: S506 (safe)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"{source}, line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}", reason="MALFORMED_FILE"
        ) from None
    except yaml.YAMLError as exc:
        raise _invalid_yaml(exc, source, "MALFORMED_FILE") from None
    if not isinstance(data, dict):
        raise InvalidArgument(
            f"{source}: expected one object (a mapping) at the top, found {kind_of(data)}",
            reason="MALFORMED_FILE",
        )
    return data


def load_yaml_text(text: str, source: str, *, reason: str = "MALFORMED_FILE") -> Any:
    """Parse YAML text as a spec file is parsed (None when empty); a syntax error is an InvalidArgument with
    `reason`, named by source, line and column."""
    return load_located_text(text, source, reason=reason)[0]


def load_located_text(text: str, source: str, *, reason: str = "MALFORMED_FILE") -> tuple[Any, dict[str, int]]:
    """Parse YAML text (None when empty) and the 1-based line of every key path (``holidays[1]``) in it.

    A syntax error is an InvalidArgument with `reason`, named by source, line and column.
    """
    loader = _SpecLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _invalid_yaml(exc, source, reason) from None
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    if node is not None:
        lines[""] = node.start_mark.line + 1
        _note_lines(node, "", lines)
    return data, lines


def at_lines(violations: Iterable[FieldViolation], lines: Mapping[str, int]) -> list[FieldViolation]:
    """Each violation with ``line N: `` in front: the line of its path, or of the nearest path around it."""
    located = []
    for v in violations:
        path = "" if v.field == "(top)" else v.field
        while path not in lines and path:
            outer = _LAST_STEP.sub("", path)
            path = outer if outer != path else ""
        line = lines.get(path)
        located.append(v if line is None else FieldViolation(v.field, f"line {line}: {v.description}"))
    return located


# The last step of a key path: an index ([2]) or a key (.name, or the first key).
_LAST_STEP = re.compile(r"(\[\d+\]|\.?[^.\[]*)$")


def _note_lines(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{path}.{key_node.value}" if path else str(key_node.value)
            lines[key] = key_node.start_mark.line + 1
            _note_lines(value_node, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[f"{path}[{i}]"] = item.start_mark.line + 1
            _note_lines(item, f"{path}[{i}]", lines)


def _invalid_yaml(exc: yaml.YAMLError, source: str, reason: str) -> InvalidArgument:
    mark = getattr(exc, "problem_mark", None)
    where = f", line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return InvalidArgument(f"{source}{where}: invalid YAML: {problem}", reason=reason)
