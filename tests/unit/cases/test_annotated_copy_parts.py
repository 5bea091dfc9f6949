"""The annotated copy's pure parts: its validity, the template a dataset gets, the annotation's words."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.model import Dataset
from catalog.specs import parse_spec
from catalog.yaml_io import load_spec_file
from exchange.annotated import Annotation, template_for
from exchange.annotated.layout import beijing_time, load_template
from exchange.cases.annotated_copies import copy_validity
from exchange.errors import InvalidArgument
from exchange.testing import EXAMPLES

DAY_US = 86_400 * 1_000_000


def example_dataset(code: str) -> Dataset:
    spec = parse_spec(load_spec_file(EXAMPLES / "catalog" / "datasets" / f"{code}.yaml"))
    assert isinstance(spec, Dataset)
    return spec


def test_copy_is_valid_for_its_days_but_never_past_the_licence() -> None:
    made = 1_800_000_000_000_000
    assert copy_validity(made, 30, 0) == made + 30 * DAY_US
    assert copy_validity(made, 30, made + 5 * DAY_US) == made + 5 * DAY_US
    assert copy_validity(made, 30, made + 90 * DAY_US) == made + 30 * DAY_US


def test_annotation_says_what_the_copy_is_only_for_and_carries_the_receipt() -> None:
    a = Annotation(
        "c-1", "restaurant_permit", "餐饮服务许可", "SAMR", "市场监管局", "o-1", 0, 0, "business_licence", "K", "SAMR",
        2, 41, "ab" * 32, "hub/x/access-log",
    )  # fmt: skip
    assert a.purpose_line == "仅用于餐饮服务许可办理"
    assert a.receipt_text == (
        "exchange-receipt:v1;origin=hub/x/access-log;index=41;leaf=" + "ab" * 32
        + ";case=c-1;dataset=business_licence;version=2"
    )  # fmt: skip


def test_beijing_time_is_utc_plus_eight_whatever_the_display_zone() -> None:
    assert beijing_time(0).startswith("1970-01-01 08:00:00 北京时间")


def test_dataset_with_a_template_gets_it_and_one_without_gets_every_field_in_schema_order() -> None:
    licence = template_for(example_dataset("business_licence"))
    assert (licence.title_zh, licence.title_en) == ("营业执照", "Business licence")
    assert licence.fields[0].zh == "统一社会信用代码" and licence.fields[0].field == "unified_social_credit_code"
    identity = example_dataset("identity_record")
    default = template_for(identity)
    assert [f.field for f in default.fields] == list(identity.schema.names)
    assert default.title_en == identity.title and default.title_zh == "电子证照"


def test_every_template_names_only_fields_of_its_dataset() -> None:
    for code in ("business_licence", "fire_safety_certificate"):
        dataset = example_dataset(code)
        assert {f.field for f in template_for(dataset).fields} <= set(dataset.schema.names), code


def test_a_template_mistake_reads_like_the_same_mistake_in_any_spec(tmp_path: Path) -> None:
    """Templates are read with the catalog's SpecReader: each mistake named by its key's full path."""
    path = tmp_path / "business_licence.yaml"
    path.write_text(
        "title: {zh: 营业执照, eng: Business licence}\nfields:\n  - {field: name, zh: 名称}\n  - {zh: 类型}\n"
        "  - {field: 5}\n  - status\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidArgument) as raised:
        load_template(path)
    assert raised.value.reason == "TEMPLATE_INVALID"
    assert [(v.field, v.description) for v in raised.value.violations] == [
        ("title.eng", "unknown key; allowed: zh, en"),
        ("fields[1].field", "required"),
        ("fields[2].field", 'expected a string, found the number 5; quote it ("5")'),
        ("fields[3]", "expected an object, found string"),
    ]


def test_a_template_without_fields_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("title: {zh: 证照}\nfields: []\n", encoding="utf-8")
    with pytest.raises(InvalidArgument) as raised:
        load_template(path)
    assert [(v.field, v.description) for v in raised.value.violations] == [
        ("fields", "required: a list of at least one field")
    ]
