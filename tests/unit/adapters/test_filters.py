"""Row filters: the little language, its checks against the schema, and what it compiles to."""

import datetime as dt

import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from adapters.sources.filters import Condition, RowFilter, parse_filter, to_arrow_expression, to_sql
from exchange.errors import InvalidArgument

SCHEMA = pa.schema(
    [
        ("uscc", pa.string()),
        ("status", pa.string()),
        ("registered_capital", pa.int64()),
        ("issued_on", pa.date32()),
        ("score", pa.float64()),
    ]
)
TABLE = pa.table(
    {
        "uscc": ["A", "B", "C", "D"],
        "status": ["01", "03", "01", "02"],
        "registered_capital": [500, 2_000_000, 1_000_000, 10],
        "issued_on": [dt.date(2020, 1, 1), dt.date(2021, 1, 1), dt.date(2022, 6, 1), dt.date(2023, 1, 1)],
        "score": [1.0, 2.5, 3.0, 4.0],
    },
    schema=SCHEMA,
)


def matching(text: str) -> list[str]:
    return TABLE.filter(to_arrow_expression(parse_filter(text, SCHEMA))).column("uscc").to_pylist()


def test_conjunction_of_conditions_parses_to_conditions_in_order() -> None:
    f = parse_filter("status = '01' and registered_capital >= 1000000")
    assert f == RowFilter((Condition("status", "=", "01"), Condition("registered_capital", ">=", 1000000)))


def test_in_list_and_quoted_quote() -> None:
    f = parse_filter("status in ('01', '02') and uscc != 'O''Brien'")
    assert f.conditions[0] == Condition("status", "in", ("01", "02"))
    assert f.conditions[1].value == "O'Brien"


def test_keywords_are_case_insensitive_and_sql_not_equal_is_accepted() -> None:
    f = parse_filter("status IN ('01') AND status <> '03'")
    assert [c.op for c in f.conditions] == ["in", "!="]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status = '01'", ["A", "C"]),
        ("status = '01' and registered_capital >= 1000000", ["C"]),
        ("status in ('02', '03')", ["B", "D"]),
        ("registered_capital < 500", ["D"]),
        ("registered_capital <= 500", ["A", "D"]),
        ("registered_capital > 1000000", ["B"]),
        ("status != '01'", ["B", "D"]),
        ("issued_on >= '2022-01-01'", ["C", "D"]),
        ("score > 2", ["B", "C", "D"]),
    ],
)
def test_arrow_expression_selects_exactly_the_matching_rows(text: str, expected: list[str]) -> None:
    assert matching(text) == expected


def test_values_are_coerced_to_the_column_type() -> None:
    f = parse_filter("issued_on = '2022-06-01' and score = 3", SCHEMA)
    assert f.conditions[0].value == dt.date(2022, 6, 1)
    assert f.conditions[1].value == 3.0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("nonexistent = '1'", "nonexistent"),
        ("status = 1", "status"),
        ("registered_capital = '1000'", "registered_capital"),
        ("issued_on = 'yesterday'", "issued_on"),
    ],
)
def test_bad_columns_and_values_are_invalid_argument_naming_the_column(text: str, needle: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_filter(text, SCHEMA)
    assert needle in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "status",
        "status =",
        "status ~ '01'",
        "status like '0%'",
        "status = '01' or status = '02'",
        "status = '01' and",
        "status in '01'",
        "status in ('01'",
        "status = '01'; DROP TABLE licences",
        "status = '01' -- comment",
        "x" * 5000,
    ],
)
def test_malformed_filters_are_invalid_argument(text: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_filter(text, SCHEMA)
    assert err.value.reason.startswith("ROW_FILTER")


def test_unknown_operator_is_named() -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_filter("status like '0%'")
    assert "like" in err.value.message


def test_sql_uses_bound_parameters_never_the_literal_text() -> None:
    table = sa.table("licences", sa.column("uscc"), sa.column("state_code"), sa.column("capital"))
    hostile = "01' OR 1=1 --"
    f = parse_filter(f"status = '{hostile.replace(chr(39), chr(39) * 2)}' and registered_capital in (1, 2)")
    clause = to_sql(f, table, {"status": "state_code", "registered_capital": "capital"})
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        compiled = sa.select(table.c.uscc).where(clause).compile(dialect=dialect)
        sql = str(compiled)
        assert "OR 1=1" not in sql
        assert "state_code" in sql and "capital" in sql
        assert hostile in compiled.params.values()


def test_sql_refuses_a_column_the_table_does_not_have() -> None:
    table = sa.table("licences", sa.column("uscc"))
    with pytest.raises(InvalidArgument):
        to_sql(parse_filter("status = '01'"), table)


@pytest.mark.parametrize(
    ("arrow_type", "literal", "bounds"),
    [
        (pa.int64(), str(2**63), "-9223372036854775808 to 9223372036854775807"),
        (pa.int64(), "-" + str(2**63 + 1), "-9223372036854775808 to 9223372036854775807"),
        (pa.uint8(), "256", "0 to 255"),
        (pa.int8(), "-129", "-128 to 127"),
    ],
)
def test_integer_outside_the_column_type_is_refused_naming_the_range(arrow_type, literal, bounds) -> None:
    schema = pa.schema([("n", arrow_type)])
    with pytest.raises(InvalidArgument) as refused:
        parse_filter(f"n = {literal}", schema)
    assert refused.value.reason == "ROW_FILTER_INVALID"
    assert bounds in refused.value.message


def test_integers_at_the_edges_of_the_column_type_are_accepted() -> None:
    schema = pa.schema([("n", pa.int64()), ("u", pa.uint8())])
    parsed = parse_filter(f"n >= {-(2**63)} and n <= {2**63 - 1} and u = 255", schema)
    to_arrow_expression(parsed)


def test_float_column_refuses_an_integer_no_double_can_hold() -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_filter(f"x > {10**400}", pa.schema([("x", pa.float64())]))
    assert "64-bit float" in refused.value.message
