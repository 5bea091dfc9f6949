"""Arrow type text, schema parsing, document validation and conversion to Arrow tables."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.schema import (
    DatasetSchema,
    Sensitivity,
    arrow_type_text,
    parse_arrow_type,
    parse_schema,
    schema_to_list,
)
from exchange.errors import InvalidArgument

LEAF_TYPES = [
    pa.string(),
    pa.large_string(),
    pa.binary(),
    pa.bool_(),
    pa.int8(),
    pa.int16(),
    pa.int32(),
    pa.int64(),
    pa.uint8(),
    pa.uint16(),
    pa.uint32(),
    pa.uint64(),
    pa.float32(),
    pa.float64(),
    pa.date32(),
    pa.timestamp("s"),
    pa.timestamp("ms"),
    pa.timestamp("us"),
    pa.timestamp("ns"),
    pa.timestamp("us", tz="Asia/Shanghai"),
    pa.decimal128(18, 2),
    pa.decimal128(38, 0),
]
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


def arrow_types() -> st.SearchStrategy[pa.DataType]:
    leaves = st.sampled_from(LEAF_TYPES)
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            inner.map(pa.list_),
            st.dictionaries(NAMES, inner, min_size=1, max_size=3).map(
                lambda d: pa.struct([pa.field(k, v) for k, v in d.items()])
            ),
        ),
        max_leaves=6,
    )


@given(arrow_types())
def test_arrow_type_text_round_trips(t: pa.DataType) -> None:
    assert parse_arrow_type(arrow_type_text(t)) == t


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("float", "float32"),
        ("double", "float64"),
        ("date", "date32"),
        ("decimal128(10,2)", "decimal128(10, 2)"),
    ],
)
def test_aliases_parse_to_the_canonical_type(alias: str, canonical: str) -> None:
    assert arrow_type_text(parse_arrow_type(alias)) == canonical


def test_nested_type_text_is_readable() -> None:
    t = parse_arrow_type("list<struct<name: string, since: date32>>")
    assert t == pa.list_(pa.struct([pa.field("name", pa.string()), pa.field("since", pa.date32())]))


@pytest.mark.parametrize("text", ["varchar", "int128", "decimal128(40, 2)", "list<nope>", "struct<a string>"])
def test_unknown_type_text_is_named_with_what_is_accepted(text: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_arrow_type(text)
    assert repr(text) in info.value.message
    assert "accepted:" in info.value.message
    assert "decimal128(p, s)" in info.value.message


def test_sensitivity_is_ordered_by_rank() -> None:
    ranks = [s.rank for s in (Sensitivity.PUBLIC, Sensitivity.INTERNAL, Sensitivity.PERSONAL, Sensitivity.SENSITIVE)]
    assert ranks == [0, 1, 2, 3]


SCHEMA = parse_schema(
    [
        {"name": "licence_id", "type": "string", "required": True, "sensitivity": "public"},
        {"name": "capital", "type": "decimal128(10, 2)", "sensitivity": "public"},
        {"name": "employees", "type": "int16"},
        {"name": "ratio", "type": "double"},
        {"name": "active", "type": "bool"},
        {"name": "established_on", "type": "date"},
        {"name": "updated_at", "type": "timestamp[us, tz=Asia/Shanghai]"},
        {"name": "photo", "type": "binary", "sensitivity": "sensitive"},
        {"name": "holder", "type": "struct<name: string, id: string>", "sensitivity": "personal"},
        {"name": "owners", "type": "list<struct<name: string, share: float64>>", "sensitivity": "personal"},
    ]
)


def paths(doc: dict[str, Any]) -> dict[str, str]:
    return {v.field: v.description for v in SCHEMA.validate_document(doc)}


def test_conforming_document_has_no_violations() -> None:
    doc = {
        "licence_id": "L1",
        "capital": "1000000.50",
        "employees": 12,
        "ratio": 1,
        "active": True,
        "established_on": "2020-02-29",
        "updated_at": "2025-01-02T03:04:05+08:00",
        "photo": "aGVsbG8=",
        "holder": {"name": "Li Lei", "id": "x"},
        "owners": [{"name": "A", "share": 0.5}, {"name": "B", "share": 0.5}],
    }
    assert SCHEMA.validate_document(doc) == []


def test_required_field_missing_or_null_is_reported() -> None:
    assert paths({}) == {"licence_id": "required field is missing"}
    assert paths({"licence_id": None}) == {"licence_id": "required field is null"}


def test_optional_fields_may_be_null_or_absent() -> None:
    assert paths({"licence_id": "L1", "capital": None}) == {}


def test_unknown_field_is_reported_with_the_fields_there_are() -> None:
    found = paths({"licence_id": "L1", "licence": "x"})
    assert "unknown field" in found["licence"]
    assert "licence_id" in found["licence"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("licence_id", 42, "expected a string (string), found integer"),
        ("employees", True, "expected an integer (int16), found boolean"),
        ("employees", 40000, "expected an integer in -32768..32767 (int16), found 40000"),
        ("ratio", "1.5", "expected a number (float64), found string"),
        ("active", "yes", "expected true or false (bool), found string"),
        ("established_on", "2021-02-29", "expected a calendar date (date32), found '2021-02-29'"),
        ("established_on", "29/02/2020", 'expected a date "YYYY-MM-DD" (date32)'),
        ("updated_at", "yesterday", "expected an ISO-8601 timestamp"),
        ("capital", 1.5, "as a string or integer, found number"),
        ("capital", "1.234", "has 3 decimal places, at most 2 allowed"),
        ("capital", "123456789", "has 9 integer digits, at most 8 allowed"),
        ("photo", "not base64!", "not base64"),
        ("holder", "Li Lei", "expected an object"),
        ("owners", {"name": "A"}, "expected an array"),
    ],
)
def test_each_wrong_value_says_expected_and_found(field: str, value: Any, expected: str) -> None:
    found = paths({"licence_id": "L1", field: value})
    assert list(found) == [field]
    assert expected in found[field]


def test_nested_violations_name_the_path() -> None:
    found = paths(
        {
            "licence_id": "L1",
            "holder": {"name": 7, "nickname": "x"},
            "owners": [{"name": "A", "share": 1.0}, {"name": "B"}, {"name": "C", "share": "half"}],
        }
    )
    assert set(found) == {"holder.name", "holder.nickname", "owners[2].share"}
    assert "found integer" in found["holder.name"]
    assert "unknown member" in found["holder.nickname"]


def test_to_arrow_table_converts_json_values() -> None:
    table = SCHEMA.to_arrow_table(
        [
            {
                "licence_id": "L1",
                "capital": "12.50",
                "established_on": "2020-01-31",
                "updated_at": "2025-01-02T03:04:05Z",
                "photo": "aGVsbG8=",
                "holder": {"name": "Li"},
                "owners": [{"name": "A", "share": 1}],
            },
            {"licence_id": "L2"},
        ]
    )
    assert table.num_rows == 2
    assert table.schema == SCHEMA.arrow_schema()
    row = table.to_pylist()[0]
    assert row["capital"] == Decimal("12.50")
    assert row["established_on"] == date(2020, 1, 31)
    assert row["updated_at"] == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert row["photo"] == b"hello"
    assert row["holder"] == {"name": "Li", "id": None}
    assert row["owners"] == [{"name": "A", "share": 1.0}]
    assert table.to_pylist()[1]["capital"] is None


def test_to_arrow_table_reports_every_bad_document_by_index() -> None:
    with pytest.raises(InvalidArgument) as info:
        SCHEMA.to_arrow_table([{"licence_id": "L1"}, {}, {"licence_id": "L3", "employees": "x"}])
    assert info.value.reason == "INVALID_DOCUMENT"
    assert [v.field for v in info.value.violations] == ["documents[1].licence_id", "documents[2].employees"]


def test_arrow_schema_marks_required_fields_non_nullable_and_keeps_sensitivity() -> None:
    arrow = SCHEMA.arrow_schema()
    assert arrow.field("licence_id").nullable is False
    assert arrow.field("capital").nullable is True
    assert arrow.field("photo").metadata[b"sensitivity"] == b"sensitive"


def test_project_keeps_schema_order_and_refuses_unknown_names() -> None:
    assert SCHEMA.project(["holder", "licence_id"]).names == ("licence_id", "holder")
    with pytest.raises(InvalidArgument) as info:
        SCHEMA.project(["licence_id", "nope"])
    assert info.value.reason == "UNKNOWN_FIELD"
    assert "nope" in info.value.message


def test_field_lookup_and_default_sensitivity() -> None:
    assert SCHEMA.field("employees").sensitivity is Sensitivity.INTERNAL
    assert SCHEMA.max_sensitivity() is Sensitivity.SENSITIVE
    with pytest.raises(InvalidArgument):
        SCHEMA.field("missing")


def test_schema_parsing_collects_every_problem_with_paths() -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_schema(
            [
                {"name": "ok", "type": "string"},
                {"name": "Bad-Name", "type": "string"},
                {"name": "ok", "type": "string"},
                {"name": "amount", "type": "money"},
                {"name": "flag", "type": "bool", "required": "yes", "sensitivity": "secret", "colour": "red"},
            ]
        )
    err = info.value
    assert err.reason == "INVALID_SCHEMA"
    fields = {v.field: v.description for v in err.violations}
    assert set(fields) == {
        "schema.fields[1].name",
        "schema.fields[2].name",
        "schema.fields[3].type",
        "schema.fields[4].required",
        "schema.fields[4].sensitivity",
        "schema.fields[4].colour",
    }
    assert "duplicate field 'ok'" in fields["schema.fields[2].name"]
    assert "allowed: public, internal, personal, sensitive" in fields["schema.fields[4].sensitivity"]


def test_empty_schema_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        parse_schema([])


def test_schema_to_list_round_trips() -> None:
    assert parse_schema(schema_to_list(SCHEMA)) == SCHEMA
    assert isinstance(SCHEMA, DatasetSchema)


def test_local_time_without_offset_is_read_in_the_fields_zone() -> None:
    schema = parse_schema([{"name": "at", "type": "timestamp[ms, tz=Asia/Shanghai]"}])
    row = schema.to_arrow_table([{"at": "2025-01-02T08:00:00"}]).to_pylist()[0]
    assert row["at"].astimezone(UTC) == datetime(2025, 1, 2, 0, 0, tzinfo=UTC)


def test_float32_values_out_of_range_are_refused() -> None:
    schema = parse_schema([{"name": "x", "type": "float32"}])
    assert "within" in schema.validate_document({"x": 1e300})[0].description
    assert schema.validate_document({"x": 1.5e38}) == []


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="time zone 'Mars/Base'"):
        parse_arrow_type("timestamp[us, tz=Mars/Base]")
    assert parse_arrow_type("timestamp[us, tz=+08:00]") == pa.timestamp("us", tz="+08:00")
