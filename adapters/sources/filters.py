"""Row filters: a conjunction of simple column conditions, parsed from text and compiled to Arrow or SQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from catalog.values import parse_date, parse_timestamp
from exchange.errors import FieldViolation, InvalidArgument

if TYPE_CHECKING:
    import sqlalchemy as sa

Op = Literal["=", "!=", "<", "<=", ">", ">=", "in"]
OPS: tuple[str, ...] = ("=", "!=", "<", "<=", ">", ">=", "in")
Scalar = str | int | float | bool | dt.date | dt.datetime | Decimal | None


@dataclass(frozen=True)
class Condition:
    """One comparison: ``column op value`` (for ``in``, value is a tuple of scalars)."""

    column: str
    op: Op
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True)
class RowFilter:
    """Rows for which every condition holds."""

    conditions: tuple[Condition, ...]

    def columns(self) -> list[str]:
        """The columns the filter reads, in order of first use."""
        return list(dict.fromkeys(c.column for c in self.conditions))


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_MAX_FILTER_CHARS = 4096


def _bad(text: str, description: str) -> InvalidArgument:
    """A filter that cannot be used, with the reason."""
    return InvalidArgument(
        f"row filter {text[:200]!r} is not valid: {description}",
        reason="ROW_FILTER_INVALID",
        violations=[FieldViolation("filter", description)],
    )


def _tokenize(text: str) -> list[tuple[str, str]]:
    """Split filter text into (kind, text) tokens."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _bad(text, f"unexpected character at position {pos}: {text[pos : pos + 10]!r}")
        kind = cast(str, match.lastgroup)
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _literal(text: str, kind: str, value: str) -> Scalar:
    """Turn one literal token into a Python value."""
    if kind == "string":
        return value[1:-1].replace("''", "'")
    if kind == "number":
        return float(value) if any(ch in value for ch in ".eE") else int(value)
    if kind == "word" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _bad(text, f"expected a literal value, found {value!r}")


def parse_filter(text: str, schema: pa.Schema | None = None) -> RowFilter:
    """Parse ``a = 'x' and b >= 10 and c in ('1', '2')``; with a schema, check columns and coerce values."""
    if len(text) > _MAX_FILTER_CHARS:
        raise _bad(text, f"longer than {_MAX_FILTER_CHARS} characters")
    tokens = _tokenize(text)
    conditions: list[Condition] = []
    i = 0
    while i < len(tokens):
        if conditions:
            if tokens[i][0] != "word" or tokens[i][1].lower() != "and":
                raise _bad(text, f"expected 'and' between conditions, found {tokens[i][1]!r}")
            i += 1
        if i >= len(tokens):
            raise _bad(text, "'and' must be followed by a condition")
        kind, column = tokens[i]
        if kind != "word":
            raise _bad(text, f"expected a column name, found {column!r}")
        if i + 1 >= len(tokens):
            raise _bad(text, f"condition on {column!r} has no operator")
        op_kind, op_text = tokens[i + 1]
        i += 2
        if op_kind == "op":
            op = "!=" if op_text == "<>" else op_text
            if i >= len(tokens):
                raise _bad(text, f"condition on {column!r} has no value")
            value: Scalar | tuple[Scalar, ...] = _literal(text, *tokens[i])
            i += 1
        elif op_kind == "word" and op_text.lower() == "in":
            op = "in"
            values, i = _parse_list(text, tokens, i)
            value = tuple(values)
        else:
            raise _bad(text, f"unknown operator {op_text!r} after {column!r}; use one of {', '.join(OPS)}")
        conditions.append(Condition(column, cast(Op, op), value))
    if not conditions:
        raise _bad(text, "empty filter")
    parsed = RowFilter(tuple(conditions))
    return check_filter(parsed, schema) if schema is not None else parsed


def _parse_list(text: str, tokens: list[tuple[str, str]], i: int) -> tuple[list[Scalar], int]:
    """Parse ``('a', 'b')`` starting at token i; return the values and the next index."""
    if i >= len(tokens) or tokens[i] != ("punct", "("):
        raise _bad(text, "'in' needs a parenthesised list of values")
    i += 1
    values: list[Scalar] = []
    while True:
        if i >= len(tokens):
            raise _bad(text, "unclosed '(' in 'in' list")
        values.append(_literal(text, *tokens[i]))
        i += 1
        if i < len(tokens) and tokens[i] == ("punct", ","):
            i += 1
            continue
        if i < len(tokens) and tokens[i] == ("punct", ")"):
            return values, i + 1
        raise _bad(text, "expected ',' or ')' in 'in' list")


def _coerce(value: Scalar, arrow_type: pa.DataType, column: str) -> Scalar:
    """Convert a literal to the column's type, or explain why it does not fit."""

    def wrong(expected: str) -> InvalidArgument:
        return InvalidArgument(
            f"filter value {value!r} for column {column!r} must be {expected}",
            reason="ROW_FILTER_INVALID",
            violations=[FieldViolation(f"filter.{column}", f"expected {expected}, found {value!r}")],
        )

    if value is None:
        return None
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        if not isinstance(value, str):
            raise wrong("a quoted string")
        return value
    if pa.types.is_boolean(arrow_type):
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if pa.types.is_integer(arrow_type):
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        bits = arrow_type.bit_width
        signed = not pa.types.is_unsigned_integer(arrow_type)
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        if not low <= value <= high:
            raise wrong(f"an integer from {low} to {high}")
        return value
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong("a number")
        if pa.types.is_decimal(arrow_type):
            return Decimal(str(value))
        try:
            return float(value)
        except OverflowError:
            raise wrong("a number a 64-bit float can hold") from None
    if pa.types.is_date(arrow_type):
        try:
            return parse_date(str(value))
        except ValueError:
            raise wrong("an ISO date such as '2024-01-31'") from None
    if pa.types.is_timestamp(arrow_type):
        try:
            # A time without an offset is read in the column's zone, as the catalog reads documents.
            return parse_timestamp(str(value), arrow_type)
        except ValueError:
            raise wrong("an ISO timestamp such as '2024-01-31T08:00:00'") from None
    raise wrong(f"a column type filters support (not {arrow_type})")


def check_filter(row_filter: RowFilter, schema: pa.Schema) -> RowFilter:
    """Check every column exists in the schema and coerce each value to that column's type."""
    checked: list[Condition] = []
    for index, cond in enumerate(row_filter.conditions):
        if schema.get_field_index(cond.column) < 0:
            raise InvalidArgument(
                f"row filter names column {cond.column!r}, which the dataset does not have; "
                f"known columns: {', '.join(schema.names)}",
                reason="ROW_FILTER_UNKNOWN_COLUMN",
                violations=[FieldViolation(f"filter.conditions[{index}].column", "unknown column")],
            )
        if cond.op not in OPS:
            raise InvalidArgument(
                f"row filter operator {cond.op!r} on {cond.column!r} is not supported; use one of {OPS}",
                reason="ROW_FILTER_INVALID",
                violations=[FieldViolation(f"filter.conditions[{index}].op", "unknown operator")],
            )
        arrow_type = schema.field(cond.column).type
        value: Scalar | tuple[Scalar, ...]
        if cond.op == "in":
            if not isinstance(cond.value, tuple) or not cond.value:
                raise _bad(cond.column, f"'in' on {cond.column!r} needs a non-empty list")
            value = tuple(_coerce(v, arrow_type, cond.column) for v in cond.value)
        else:
            if isinstance(cond.value, tuple):
                raise _bad(cond.column, f"{cond.op!r} on {cond.column!r} needs one value, not a list")
            value = _coerce(cond.value, arrow_type, cond.column)
        checked.append(Condition(cond.column, cond.op, value))
    return RowFilter(tuple(checked))


def to_arrow_expression(row_filter: RowFilter, column_map: Mapping[str, str] | None = None) -> pc.Expression:
    """Compile the filter to a pyarrow.dataset expression (columns renamed through column_map)."""
    expression: pc.Expression | None = None
    for cond in row_filter.conditions:
        field = pads.field((column_map or {}).get(cond.column, cond.column))
        value = cond.value
        if cond.op == "in":
            part = field.isin(list(cast(tuple[Any, ...], value)))
        elif cond.op == "=":
            part = field == value
        elif cond.op == "!=":
            part = field != value
        elif cond.op == "<":
            part = field < value
        elif cond.op == "<=":
            part = field <= value
        elif cond.op == ">":
            part = field > value
        else:
            part = field >= value
        expression = part if expression is None else expression & part
    if expression is None:
        raise _bad("", "empty filter")
    return expression


def to_sql(
    row_filter: RowFilter,
    table: sa.TableClause,
    column_map: Mapping[str, str] | None = None,
) -> sa.ColumnElement[bool]:
    """Compile the filter to a SQLAlchemy boolean clause with bound parameters."""
    import sqlalchemy as sa  # the SQL source's driver, loaded only by it

    parts: list[sa.ColumnElement[bool]] = []
    for cond in row_filter.conditions:
        name = (column_map or {}).get(cond.column, cond.column)
        if name not in table.c:
            raise InvalidArgument(
                f"row filter column {cond.column!r} has no column in table {table.name}",
                reason="ROW_FILTER_UNKNOWN_COLUMN",
                violations=[FieldViolation(f"filter.{cond.column}", "unknown column")],
            )
        column = table.c[name]
        value = cond.value
        if cond.op == "in":
            parts.append(column.in_(list(cast(Sequence[Any], value))))
        elif cond.op == "=":
            parts.append(column == value)
        elif cond.op == "!=":
            parts.append(column != value)
        elif cond.op == "<":
            parts.append(column < value)
        elif cond.op == "<=":
            parts.append(column <= value)
        elif cond.op == ">":
            parts.append(column > value)
        else:
            parts.append(column >= value)
    return sa.and_(*parts)
