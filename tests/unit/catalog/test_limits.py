"""One limit per value: the storage columns take their sizes from catalog.limits, and the checks mean what they say."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog import limits
from exchange.errors import InvalidArgument
from exchange.services.bounds import FIELD_LIMITS
from exchange.storage.tables import metadata


def text_columns() -> list[sa.Column[object]]:
    return [
        column
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, sa.String) and column.type.length is not None
    ]


def test_every_bounded_column_is_exactly_as_long_as_its_limit() -> None:
    columns = text_columns()
    assert len(columns) > 50
    unnamed = [f"{c.table.name}.{c.name}" for c in columns if not isinstance(c.info.get("limit"), limits.Limit)]
    assert unnamed == [], "every VARCHAR column names its limit in catalog.limits"
    drifted = [
        (f"{c.table.name}.{c.name}", c.type.length, c.info["limit"].max_length)  # type: ignore[attr-defined]
        for c in columns
        if c.type.length != c.info["limit"].max_length  # type: ignore[attr-defined]
    ]
    assert drifted == []


def test_columns_that_hold_the_same_value_share_one_limit() -> None:
    by_name: dict[str, set[int]] = {}
    for column in text_columns():
        if column.name in ("case_id", "officer_id", "subject_id", "dataset", "consumer", "owner", "department"):
            by_name.setdefault(column.name, set()).add(column.info["limit"].max_length)
    assert by_name["case_id"] == {limits.CASE_ID.max_length}
    assert by_name["officer_id"] == {limits.OFFICER_ID.max_length}
    assert by_name["dataset"] == {limits.DATASET_CODE.max_length}
    assert by_name["department"] == {limits.DEPARTMENT_CODE.max_length}


def test_an_actor_column_holds_a_department_and_an_officer() -> None:
    assert limits.ACTOR.max_length >= limits.DEPARTMENT_CODE.max_length + 1 + limits.OFFICER_ID.max_length


def test_request_fields_are_checked_against_the_limits_of_the_columns_they_reach() -> None:
    assert FIELD_LIMITS["case_id"] is limits.CASE_ID
    assert FIELD_LIMITS["officer_id"] is limits.OFFICER_ID
    assert FIELD_LIMITS["key"].max_length <= limits.SUBJECT_ID.max_length
    assert FIELD_LIMITS["request_id"] is limits.REQUEST_ID


@pytest.mark.parametrize("value", ["c-0123", "北京市朝阳区", "li wei", "a" * 40])
def test_printable_identifiers_within_the_limit_pass(value: str) -> None:
    assert limits.CASE_ID.problem(value) is None
    assert limits.check("case_id", value, limits.CASE_ID) == value


@pytest.mark.parametrize("value", ["a\x00b", "a\tb", "a\nb", "a\x7fb", "a\x85b", "a\u202eb", "a\ud800b", "a\u2028b"])
def test_control_and_format_characters_are_refused_in_identifiers(value: str) -> None:
    assert limits.CASE_ID.problem(value) == limits.INVALID_CHARACTERS


def test_text_keeps_tabs_and_newlines_but_no_other_control_character() -> None:
    assert limits.COMMENT.problem("line one\nline two\tend\r\n") is None
    assert limits.COMMENT.problem("bell\x07") == limits.INVALID_CHARACTERS
    assert limits.COMMENT.problem("nul\x00") == limits.INVALID_CHARACTERS


def test_a_refusal_names_the_field_and_the_limit_and_quotes_only_a_sanitised_prefix() -> None:
    with pytest.raises(InvalidArgument) as caught:
        limits.check("purpose.case_id", "\x00" + "x" * 10_000, limits.CASE_ID)
    error = caught.value
    assert error.reason == limits.TOO_LONG
    assert "purpose.case_id" in error.message and "40" in error.message
    assert "\x00" not in error.message and len(error.message) < 200
    assert [v.field for v in error.violations] == ["purpose.case_id"]
    with pytest.raises(InvalidArgument) as caught:
        limits.check("key", "9111\x00", limits.KEY)
    assert caught.value.reason == limits.INVALID_CHARACTERS
    assert "\x00" not in caught.value.message


@pytest.mark.parametrize(
    ("limit", "value", "cleaned"),
    [
        (limits.CASE_ID, "c" * 50, "c" * 40),
        (limits.OFFICER_ID, "li\x00wei", "li\ufffdwei"),
        (limits.LOG_MESSAGE, "one\ntwo\x00", "one\ntwo\ufffd"),
        (limits.SUBJECT_ID, "\ud800x", "\ufffdx"),
    ],
)
def test_clean_cuts_and_replaces_what_a_limit_refuses(limit: limits.Limit, value: str, cleaned: str) -> None:
    assert limit.clean(value) == cleaned
    assert limit.problem(limit.clean(value)) is None
