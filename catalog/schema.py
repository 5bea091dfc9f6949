"""A dataset's schema: an Arrow type and a sensitivity class per field, document checks, Arrow tables."""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import pyarrow as pa

from catalog.spec_reader import SpecReader, kind_of
from catalog.values import known_time_zone, parse_date, parse_timestamp
from exchange.errors import FieldViolation, InvalidArgument, quote

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_FLOAT32_MAX = 3.4028234663852886e38


class Sensitivity(StrEnum):
    """How much harm disclosure of a field does; ordered from public to sensitive."""

    PUBLIC = "public"
    INTERNAL = "internal"
    PERSONAL = "personal"
    SENSITIVE = "sensitive"

    @property
    def rank(self) -> int:
        """Return 0 for public up to 3 for sensitive."""
        return list(Sensitivity).index(self)


_SIMPLE: dict[str, pa.DataType] = {
    "string": pa.string(),
    "large_string": pa.large_string(),
    "binary": pa.binary(),
    "bool": pa.bool_(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "uint64": pa.uint64(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "date32": pa.date32(),
}
_ALIASES = {"float": "float32", "double": "float64", "date": "date32", "boolean": "bool"}
ACCEPTED_TYPES = (
    ", ".join(_SIMPLE)
    + ", float, double, date, timestamp[s|ms|us|ns], timestamp[us, tz=Asia/Shanghai], decimal128(p, s),"
    " list<T>, struct<name: T, ...>"
)


def _unknown_type(text: str, detail: str = "") -> InvalidArgument:
    extra = f" ({detail})" if detail else ""
    return InvalidArgument(
        f"unknown Arrow type {text!r}{extra}; accepted: {ACCEPTED_TYPES}", reason="UNKNOWN_ARROW_TYPE"
    )


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not nested inside <>, () or []."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "<([":
            depth += 1
        elif ch in ">)]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _parse(text: str, whole: str) -> pa.DataType:
    text = text.strip()
    name = _ALIASES.get(text, text)
    if name in _SIMPLE:
        return _SIMPLE[name]
    m = re.fullmatch(r"timestamp\[(s|ms|us|ns)(?:,\s*tz=([A-Za-z0-9_+\-/:]+))?\]", text)
    if m:
        tz = m.group(2)
        if tz is not None and not known_time_zone(tz):
            raise _unknown_type(whole, f"time zone {tz!r} is not an IANA zone name or a +HH:MM offset")
        return pa.timestamp(m.group(1), tz=tz)
    m = re.fullmatch(r"decimal128\(\s*(\d+)\s*,\s*(\d+)\s*\)", text)
    if m:
        precision, scale = int(m.group(1)), int(m.group(2))
        if not 1 <= precision <= 38 or scale > precision:
            raise _unknown_type(whole, "decimal128 needs 1 <= precision <= 38 and scale <= precision")
        return pa.decimal128(precision, scale)
    if text.startswith("list<") and text.endswith(">"):
        return pa.list_(_parse(text[5:-1], whole))
    if text.startswith("struct<") and text.endswith(">"):
        fields = []
        for member in _split_top_level(text[7:-1]):
            member_name, sep, member_type = member.partition(":")
            if not sep or not FIELD_NAME.match(member_name.strip()):
                raise _unknown_type(whole, f"struct member {member!r} must be 'name: type'")
            fields.append(pa.field(member_name.strip(), _parse(member_type, whole)))
        if len({f.name for f in fields}) != len(fields):
            raise _unknown_type(whole, "struct member names repeat")
        return pa.struct(fields)
    raise _unknown_type(whole)


def parse_arrow_type(text: str) -> pa.DataType:
    """Parse the text form of an Arrow type (``decimal128(18, 2)``, ``list<string>``)."""
    return _parse(text, text)


def arrow_type_text(t: pa.DataType) -> str:
    """Return the canonical text of an Arrow type; parse_arrow_type reads it back."""
    for name, simple in _SIMPLE.items():
        if t == simple:
            return name
    if pa.types.is_timestamp(t):
        return f"timestamp[{t.unit}, tz={t.tz}]" if t.tz else f"timestamp[{t.unit}]"
    if pa.types.is_decimal128(t):
        return f"decimal128({t.precision}, {t.scale})"
    if pa.types.is_list(t):
        return f"list<{arrow_type_text(t.value_type)}>"
    if pa.types.is_struct(t):
        members = ", ".join(f"{t.field(i).name}: {arrow_type_text(t.field(i).type)}" for i in range(t.num_fields))
        return f"struct<{members}>"
    raise InvalidArgument(f"Arrow type {t} is not supported; accepted: {ACCEPTED_TYPES}", reason="UNKNOWN_ARROW_TYPE")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a dataset: its Arrow type, whether it must be present, and its sensitivity."""

    name: str
    type_text: str
    arrow_type: pa.DataType
    required: bool
    sensitivity: Sensitivity
    description: str = ""


# --- checking JSON-shaped values against Arrow types ---------------------------------------------


def _int_range(t: pa.DataType) -> tuple[int, int]:
    bits = t.bit_width
    if pa.types.is_unsigned_integer(t):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _decimal_problem(value: Any, t: pa.Decimal128Type) -> str | None:
    """Return what is wrong with a decimal value, or None."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        # Floats are refused: a binary float cannot carry an exact amount of money.
        return f"expected decimal128({t.precision}, {t.scale}) as a string or integer, found {kind_of(value)}"
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return f"expected a decimal number, found {value!r}"
    if not number.is_finite():
        return f"expected a finite decimal number, found {value!r}"
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite decimals have an integer exponent
    scale = max(0, -exponent)
    integer_digits = max(0, len(digits) + exponent) if any(digits) else 0
    if scale > t.scale:
        return f"{value!r} has {scale} decimal places, at most {t.scale} allowed"
    if integer_digits > t.precision - t.scale:
        return f"{value!r} has {integer_digits} integer digits, at most {t.precision - t.scale} allowed"
    return None


def _value_violations(value: Any, t: pa.DataType, path: str) -> list[FieldViolation]:
    """Check one JSON-shaped value against an Arrow type; null is allowed (nullability is checked above)."""
    if value is None:
        return []
    # The messages are built only for a value that fails: most values pass.

    def wrong(expected: str) -> list[FieldViolation]:
        return [FieldViolation(path, f"expected {expected} ({arrow_type_text(t)}), found {kind_of(value)}")]

    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return [] if isinstance(value, str) else wrong("a string")
    if pa.types.is_binary(t):
        if not isinstance(value, str):
            return wrong("a base64 string")
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            return [FieldViolation(path, f"expected base64 ({arrow_type_text(t)}), found a string that is not base64")]
        return []
    if pa.types.is_boolean(t):
        return [] if isinstance(value, bool) else wrong("true or false")
    if pa.types.is_integer(t):
        if isinstance(value, bool) or not isinstance(value, int):
            return wrong("an integer")
        low, high = _int_range(t)
        if not low <= value <= high:
            return [FieldViolation(path, f"expected an integer in {low}..{high} ({arrow_type_text(t)}), found {value}")]
        return []
    if pa.types.is_floating(t):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return wrong("a number")
        if pa.types.is_float32(t) and abs(value) > _FLOAT32_MAX:
            limit = f"+/-{_FLOAT32_MAX:.7g}"
            return [FieldViolation(path, f"expected a number within {limit} ({arrow_type_text(t)}), found {value}")]
        return []
    if pa.types.is_date32(t):
        if not isinstance(value, str):
            return wrong('a date "YYYY-MM-DD"')
        try:
            parse_date(value)
        except ValueError as exc:
            return [FieldViolation(path, f"{exc} ({arrow_type_text(t)}), found {value!r}")]
        return []
    if pa.types.is_timestamp(t):
        if not isinstance(value, str):
            return wrong("an ISO-8601 timestamp string")
        try:
            parse_timestamp(value, t)
        except ValueError as exc:
            return [FieldViolation(path, f"{exc} ({arrow_type_text(t)}), found {value!r}")]
        return []
    if pa.types.is_decimal128(t):
        problem = _decimal_problem(value, t)
        return [FieldViolation(path, problem)] if problem else []
    if pa.types.is_list(t):
        if not isinstance(value, list | tuple):
            return wrong("an array")
        out: list[FieldViolation] = []
        for i, item in enumerate(value):
            out.extend(_value_violations(item, t.value_type, f"{path}[{i}]"))
        return out
    if pa.types.is_struct(t):
        if not isinstance(value, Mapping):
            return wrong("an object")
        members = {t.field(i).name: t.field(i).type for i in range(t.num_fields)}
        out = [
            FieldViolation(f"{path}.{key}", f"unknown member; {path} has: {', '.join(members)}")
            for key in value
            if key not in members
        ]
        for name, member_type in members.items():
            out.extend(_value_violations(value.get(name), member_type, f"{path}.{name}"))
        return out
    return wrong(arrow_type_text(t))


def _to_arrow_value(value: Any, t: pa.DataType) -> Any:
    """Convert a checked JSON-shaped value into what pyarrow expects for the type."""
    if value is None:
        return None
    if pa.types.is_binary(t):
        return base64.b64decode(value)
    if pa.types.is_date32(t):
        return parse_date(value)
    if pa.types.is_timestamp(t):
        return parse_timestamp(value, t)
    if pa.types.is_decimal128(t):
        return Decimal(str(value).strip())
    if pa.types.is_floating(t):
        return float(value)
    if pa.types.is_list(t):
        return [_to_arrow_value(item, t.value_type) for item in value]
    if pa.types.is_struct(t):
        return {
            t.field(i).name: _to_arrow_value(value.get(t.field(i).name), t.field(i).type) for i in range(t.num_fields)
        }
    return value


@dataclass(frozen=True)
class DatasetSchema:
    """The ordered fields of a dataset."""

    fields: tuple[FieldSpec, ...]

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        """Return the field names in schema order."""
        return tuple(f.name for f in self.fields)

    @functools.cached_property
    def _name_set(self) -> frozenset[str]:
        return frozenset(self.names)

    def field(self, name: str) -> FieldSpec:
        """Return the field called name, or raise InvalidArgument naming the fields there are."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise InvalidArgument(
            f"unknown field {name!r}; the schema has: {', '.join(self.names)}",
            reason="UNKNOWN_FIELD",
            violations=[FieldViolation(name, "not in the schema")],
        )

    def has_field(self, name: str) -> bool:
        """Return whether the schema has a field called name."""
        return name in self._name_set

    def arrow_schema(self) -> pa.Schema:
        """Return the Arrow schema; nullable unless required, sensitivity kept in field metadata."""
        return pa.schema(
            [
                pa.field(
                    f.name,
                    f.arrow_type,
                    nullable=not f.required,
                    metadata={"sensitivity": f.sensitivity.value, "description": f.description},
                )
                for f in self.fields
            ]
        )

    def project(self, names: Iterable[str]) -> DatasetSchema:
        """Return the schema narrowed to the named fields, in schema order."""
        wanted = set(names)
        unknown = sorted(wanted - set(self.names))
        if unknown:
            raise InvalidArgument(
                f"unknown field(s) {', '.join(unknown)}; the schema has: {', '.join(self.names)}",
                reason="UNKNOWN_FIELD",
                violations=[FieldViolation(n, "not in the schema") for n in unknown],
            )
        return DatasetSchema(tuple(f for f in self.fields if f.name in wanted))

    def max_sensitivity(self) -> Sensitivity:
        """Return the highest sensitivity of any field (public for an empty schema)."""
        return max((f.sensitivity for f in self.fields), key=lambda s: s.rank, default=Sensitivity.PUBLIC)

    def validate_document(self, doc: Mapping[str, Any]) -> list[FieldViolation]:
        """Return every way a JSON-shaped document fails the schema (empty when it conforms)."""
        if not isinstance(doc, Mapping):
            return [FieldViolation("", f"expected an object, found {kind_of(doc)}")]
        out = [
            FieldViolation(key, f"unknown field; the schema has: {', '.join(self.names)}")
            for key in doc
            if not self.has_field(key)
        ]
        for spec in self.fields:
            value = doc.get(spec.name)
            if value is None:
                if spec.required:
                    state = "missing" if spec.name not in doc else "null"
                    out.append(FieldViolation(spec.name, f"required field is {state}"))
                continue
            out.extend(_value_violations(value, spec.arrow_type, spec.name))
        return out

    def to_arrow_table(self, docs: Iterable[Mapping[str, Any]]) -> pa.Table:
        """Convert JSON-shaped documents to an Arrow table, or raise InvalidArgument listing all problems."""
        rows, violations = [], []
        for i, doc in enumerate(docs):
            for v in self.validate_document(doc):
                violations.append(FieldViolation(f"documents[{i}].{v.field}".rstrip("."), v.description))
            if isinstance(doc, Mapping):
                rows.append({f.name: _to_arrow_value(doc.get(f.name), f.arrow_type) for f in self.fields})
        if violations:
            raise InvalidArgument(
                f"{len(violations)} problem(s) in the documents; fix them and resend",
                reason="INVALID_DOCUMENT",
                violations=violations,
            )
        return pa.Table.from_pylist(rows, schema=self.arrow_schema())


def validate_document(schema: DatasetSchema, doc: Mapping[str, Any]) -> list[FieldViolation]:
    """Return every way a JSON-shaped document fails the schema."""
    return schema.validate_document(doc)


def to_arrow_table(schema: DatasetSchema, docs: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Convert JSON-shaped documents to an Arrow table of the schema."""
    return schema.to_arrow_table(docs)


# --- parsing a schema from its YAML/JSON form ------------------------------------------------------

_FIELD_KEYS = ("name", "type", "required", "sensitivity", "description")


def _field_spec(entry: Any, where: str, out: list[FieldViolation]) -> FieldSpec | None:
    """One field entry of a schema, read with the SpecReader (None if it has any problem)."""
    before = len(out)
    r = SpecReader(entry, where, _FIELD_KEYS, out)
    name = r.text("name", pattern=FIELD_NAME)
    type_text = r.text("type")
    arrow_type: pa.DataType | None = None
    if type_text is not None:
        try:
            arrow_type = parse_arrow_type(type_text)
        except InvalidArgument as exc:
            r.problem("type", exc.message)
    required = r.flag("required", False)
    sensitivity = r.enum("sensitivity", Sensitivity, Sensitivity.INTERNAL)
    description = r.text("description", required=False) or ""
    if len(out) > before or name is None or arrow_type is None or sensitivity is None:
        return None
    return FieldSpec(
        name=name,
        type_text=arrow_type_text(arrow_type),
        arrow_type=arrow_type,
        required=required,
        sensitivity=sensitivity,
        description=description,
    )


def collect_schema(data: Any, path: str) -> tuple[DatasetSchema | None, list[FieldViolation]]:
    """Parse a list of field entries, returning the schema (None if any problem) and every problem."""
    if not isinstance(data, Sequence) or isinstance(data, str) or not data:
        return None, [FieldViolation(path, f"expected a non-empty list of fields, found {kind_of(data)}")]
    out: list[FieldViolation] = []
    specs: list[FieldSpec] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(data):
        where = f"{path}[{i}]"
        spec = _field_spec(entry, where, out)
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if isinstance(name, str) and name in seen:
            out.append(FieldViolation(f"{where}.name", f"duplicate field {quote(name)} (also {path}[{seen[name]}])"))
        elif isinstance(name, str):
            seen[name] = i
        if spec is not None:
            specs.append(spec)
    if out:
        return None, out
    return DatasetSchema(tuple(specs)), []


def parse_schema(data: Sequence[Mapping[str, Any]], *, path: str = "schema.fields") -> DatasetSchema:
    """Parse field entries into a schema, or raise InvalidArgument listing every problem."""
    schema, violations = collect_schema(data, path)
    if schema is None:
        raise InvalidArgument(
            f"the schema has {len(violations)} problem(s)", reason="INVALID_SCHEMA", violations=violations
        )
    return schema


def schema_to_list(schema: DatasetSchema) -> list[dict[str, Any]]:
    """Return the YAML/JSON form of a schema; parse_schema reads it back."""
    return [
        {
            "name": f.name,
            "type": f.type_text,
            "required": f.required,
            "sensitivity": f.sensitivity.value,
            "description": f.description,
        }
        for f in schema.fields
    ]
