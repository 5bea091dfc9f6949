"""Every catalog spec is read by the one SpecReader: a schema's fields word a mistake like the entry around them."""

from typing import Any

import pytest

from catalog.schema import parse_schema
from catalog.specs import parse_service_item
from exchange.errors import FieldViolation, InvalidArgument


def schema_problems(entry: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as info:
        parse_schema([entry])
    return {v.field: v.description for v in info.value.violations}


def item_problems(**material: Any) -> dict[str, str]:
    item = {"code": "open_shop", "name": "Open a shop", "lead_department": "SAMR", "time_limit_days": 20}
    item["required_materials"] = [{"dataset": "business_licence", "fields": ["uscc"], **material}]
    with pytest.raises(InvalidArgument) as info:
        parse_service_item(item)
    return {v.field: v.description for v in info.value.violations}


def test_a_word_where_true_or_false_goes_reads_alike_in_a_schema_field() -> None:
    field = schema_problems({"name": "x", "type": "string", "required": "yes"})["schema.fields[0].required"]
    assert field == item_problems(mandatory="yes")["required_materials[0].mandatory"]


def test_a_number_where_text_goes_reads_alike_in_a_schema_field() -> None:
    field = schema_problems({"name": "x", "type": "string", "description": 5})["schema.fields[0].description"]
    assert field == item_problems(description=5)["required_materials[0].description"]


def test_a_missing_type_is_required_like_any_missing_value() -> None:
    assert schema_problems({"name": "x"}) == {"schema.fields[0].type": "required"}


def test_a_field_name_not_in_the_format_reads_like_any_code_out_of_format() -> None:
    found = schema_problems({"name": "Bad-Name", "type": "string"})["schema.fields[0].name"]
    assert found == "'Bad-Name' does not match ^[a-z][a-z0-9_]{0,62}$"


def test_an_impossible_date_in_a_spec_file_is_named_by_the_reader_not_a_crash() -> None:
    from catalog.spec_reader import SpecReader
    from catalog.yaml_io import load_spec_text

    data = load_spec_text("published: 2026-13-01\nno: 1\n", "spec.yaml")
    assert data == {"published": "2026-13-01", "no": 1}
    out: list[FieldViolation] = []
    SpecReader(data, "", ("published", "no"), out).day("published")
    assert out == [FieldViolation("published", "expected a date such as 2026-01-15, found '2026-13-01'")]
