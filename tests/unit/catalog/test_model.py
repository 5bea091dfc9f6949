"""Parsing datasets, departments and service items: every problem collected, with its path."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog.identifiers import KeyFormat
from catalog.model import Dataset, DatasetKind, DatasetStatus, Department, SharingType, department_name
from catalog.specs import (
    dataset_to_dict,
    department_to_dict,
    material_violations,
    parse_dataset,
    parse_department,
    parse_service_item,
    parse_spec,
    service_item_to_dict,
    to_spec,
)
from catalog.yaml_io import load_spec_file
from exchange.errors import InvalidArgument

PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
    "-----END PUBLIC KEY-----\n"
)


def dataset_data(**changes: Any) -> dict[str, Any]:
    data = {
        "code": "business_licence",
        "title": "Business licence",
        "owner": "SAMR",
        "kind": "record",
        "key_field": "uscc",
        "key_format": "uscc",
        "sharing_type": "unconditional",
        "update_frequency": "daily",
        "schema": {
            "fields": [
                {"name": "uscc", "type": "string", "required": True, "sensitivity": "public"},
                {"name": "name", "type": "string", "required": True, "sensitivity": "public"},
                {"name": "valid_until", "type": "date32"},
            ]
        },
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def violations(
    parse: Callable[[dict[str, Any]], object], data: dict[str, Any]
) -> tuple[InvalidArgument, dict[str, str]]:
    with pytest.raises(InvalidArgument) as info:
        parse(data)
    return info.value, {v.field: v.description for v in info.value.violations}


def test_minimal_dataset_gets_defaults() -> None:
    ds = parse_dataset(dataset_data())
    assert ds.kind is DatasetKind.RECORD
    assert ds.key_format is KeyFormat.USCC
    assert ds.version == "1.0"
    assert ds.status is DatasetStatus.PUBLISHED
    assert ds.subject_field == "uscc"


def test_subject_field_is_not_defaulted_for_licence_keys() -> None:
    ds = parse_dataset(dataset_data(key_format="licence_id"))
    assert ds.subject_field is None


def test_dataset_problems_are_collected_not_first_only() -> None:
    err, found = violations(
        parse_dataset,
        dataset_data(code="Bad Code", kind="rows", sharing_type="secret", owner=None, titel="typo"),
    )
    assert err.reason == "INVALID_DATASET"
    assert {"code", "kind", "sharing_type", "owner", "titel"} <= set(found)
    assert "allowed: record, table" in found["kind"]
    assert "allowed: unconditional, conditional, not_shared" in found["sharing_type"]
    assert "unknown key" in found["titel"]
    assert found["owner"] == "required"


def test_key_field_must_be_in_the_schema() -> None:
    _, found = violations(parse_dataset, dataset_data(key_field="licence_no"))
    assert "'licence_no' is not a field of the schema" in found["key_field"]


def test_key_field_must_be_required() -> None:
    data = dataset_data(key_field="name")
    data["schema"]["fields"][1]["required"] = False
    _, found = violations(parse_dataset, data)
    assert "must be a required field" in found["key_field"]


def test_key_field_must_be_text_and_validity_field_a_date() -> None:
    data = dataset_data(validity_field="name")
    data["schema"]["fields"][0]["type"] = "int64"
    _, found = violations(parse_dataset, data)
    assert found["key_field"] == "field 'uscc' must be a string, found int64"
    assert found["validity_field"] == "field 'name' must be a date32 or timestamp, found string"


def test_numbers_where_text_is_expected_suggest_quoting() -> None:
    _, found = violations(parse_department, department_data(region_code=110100))
    assert 'quote it ("110100")' in found["region_code"]
    _, found = violations(parse_dataset, dataset_data(version=1.0))
    assert 'quote it ("1.0")' in found["version"]


def test_conditional_and_not_shared_need_a_legal_basis() -> None:
    for sharing in ("conditional", "not_shared"):
        _, found = violations(parse_dataset, dataset_data(sharing_type=sharing))
        assert "required when sharing_type is" in found["legal_basis"]
    ds = parse_dataset(dataset_data(sharing_type="conditional", legal_basis="PIPL art. 34"))
    assert ds.sharing_type is SharingType.CONDITIONAL


def test_schema_problems_carry_the_schema_path() -> None:
    data = dataset_data()
    data["schema"]["fields"][2]["type"] = "dat"
    _, found = violations(parse_dataset, data)
    assert "schema.fields[2].type" in found


def test_optional_field_references_must_exist() -> None:
    _, found = violations(parse_dataset, dataset_data(validity_field="expires", status_field="state"))
    assert set(found) == {"validity_field", "status_field"}


def test_malformed_version_is_refused() -> None:
    _, found = violations(parse_dataset, dataset_data(version="1"))
    assert "version" in found


def test_dataset_round_trips_through_its_dict_and_json() -> None:
    ds = parse_dataset(dataset_data(keywords=["licence"], theme="market", version="2.3"))
    assert parse_dataset(dataset_data_from(ds)) == ds


def dataset_data_from(ds: Dataset) -> dict[str, Any]:
    return json.loads(json.dumps(dataset_to_dict(ds)))


def department_data(**changes: Any) -> dict[str, Any]:
    data = {"code": "SAMR", "name": "Market regulation", "level": "city", "region_code": "110100"}
    data.update(changes)
    return data


def test_department_with_keys_round_trips() -> None:
    dept = parse_department(
        department_data(
            adapter_endpoint="samr.internal:7443",
            keys=[{"kid": "samr-1", "use": "signing", "algorithm": "EdDSA", "public_key_pem": PEM}],
        )
    )
    assert isinstance(dept, Department)
    assert dept.keys[0].status.value == "active"
    assert parse_department(department_to_dict(dept)) == dept


def test_department_english_name_is_optional_and_round_trips() -> None:
    plain = parse_department(department_data(name="市市场监督管理局"))
    assert plain.name_en == "" and "name_en" not in department_to_dict(plain)
    named = parse_department(department_data(name="市市场监督管理局", name_en="Municipal Market Regulation"))
    assert named.name_en == "Municipal Market Regulation"
    assert parse_department(department_to_dict(named)) == named


def test_a_yaml_department_spec_carries_its_english_name() -> None:
    text = (
        "kind: Department\nspec:\n  code: FIRE\n  name: 朝阳区消防救援支队\n"
        "  name_en: Chaoyang District Fire and Rescue Detachment\n  level: county\n  region_code: '110105'\n"
    )
    dept = parse_spec(yaml.safe_load(text))
    assert isinstance(dept, Department)
    assert (dept.name, dept.name_en) == ("朝阳区消防救援支队", "Chaoyang District Fire and Rescue Detachment")


def test_an_english_name_that_is_not_text_is_named() -> None:
    _, found = violations(parse_department, department_data(name_en=["Market regulation"]))
    assert set(found) == {"name_en"}


def test_a_department_reads_in_the_readers_language_chinese_first() -> None:
    both = parse_department(department_data(name="市公安局", name_en="Municipal Public Security Bureau"))
    chinese_only = parse_department(department_data(name="市公安局"))
    assert department_name(both, "zh-CN") == "市公安局"
    assert department_name(both, "en") == "Municipal Public Security Bureau"
    assert department_name(chinese_only, "en") == "市公安局"
    # Any other language reads the primary (Chinese) name.
    assert department_name(both, "fr") == "市公安局"


def test_department_problems_name_their_paths() -> None:
    err, found = violations(
        parse_department,
        department_data(
            code="samr",
            level="district",
            region_code="1101",
            adapter_endpoint="no port",
            keys=[{"kid": "k", "use": "tokens", "algorithm": "RS256", "public_key_pem": "abc"}],
        ),
    )
    assert err.reason == "INVALID_DEPARTMENT"
    assert set(found) == {
        "code",
        "level",
        "region_code",
        "adapter_endpoint",
        "keys[0].use",
        "keys[0].algorithm",
        "keys[0].public_key_pem",
    }
    assert "allowed: national, province, city, county, township" in found["level"]


def item_data(**changes: Any) -> dict[str, Any]:
    data = {
        "code": "restaurant_permit",
        "name": "Restaurant permit",
        "lead_department": "SAMR",
        "co_reviewers": ["FIRE"],
        "time_limit_days": 10,
        "required_materials": [{"dataset": "business_licence", "fields": ["uscc", "name"]}],
    }
    data.update(changes)
    return data


def test_service_item_round_trips() -> None:
    item = parse_service_item(item_data(promised_days=5))
    assert item.required_materials[0].mandatory is True
    assert parse_service_item(service_item_to_dict(item)) == item


def test_service_item_problems_name_their_paths() -> None:
    err, found = violations(
        parse_service_item,
        item_data(
            co_reviewers=["SAMR", "fire"],
            time_limit_days=400,
            required_materials=[
                {"dataset": "business_licence", "fields": []},
                {"dataset": "X", "fields": ["a"]},
            ],
        ),
    )
    assert err.reason == "INVALID_SERVICE_ITEM"
    assert set(found) == {
        "co_reviewers",
        "co_reviewers[1]",
        "time_limit_days",
        "required_materials[0].fields",
        "required_materials[1].dataset",
    }


def test_promised_days_cannot_exceed_the_statutory_limit() -> None:
    _, found = violations(parse_service_item, item_data(promised_days=11))
    assert "longer than the statutory time limit" in found["promised_days"]


def test_material_violations_find_unknown_datasets_and_fields() -> None:
    ds = parse_dataset(dataset_data())
    item = parse_service_item(
        item_data(
            required_materials=[
                {"dataset": "business_licence", "fields": ["uscc", "capital"]},
                {"dataset": "identity_record", "fields": ["name"]},
            ]
        )
    )
    found = material_violations(item, {"business_licence": ds})
    assert [v.field for v in found] == ["required_materials[0].fields[1]", "required_materials[1].dataset"]


def test_parse_spec_dispatches_on_kind() -> None:
    ds = parse_spec({"kind": "Dataset", "spec": dataset_data()})
    assert ds == parse_dataset(dataset_data())
    assert parse_spec(to_spec(ds)) == ds


def test_parse_spec_refuses_unknown_kind_and_stray_keys() -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_spec({"kind": "Dataset2", "spec": {}})
    assert info.value.reason == "UNKNOWN_SPEC_KIND"
    assert "Dataset, Department, ServiceItem" in info.value.message
    with pytest.raises(InvalidArgument) as info:
        parse_spec({"kind": "Department", "spec": department_data(), "code": "X"})
    assert [v.field for v in info.value.violations] == ["code"]


def test_load_spec_file_reads_yaml_and_json(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(
        "kind: Department\nspec:\n  code: PSB\n  name: Police\n  level: city\n  region_code: '110100'\n"
    )
    (tmp_path / "d.json").write_text(json.dumps({"kind": "Department", "spec": department_data()}))
    assert parse_spec(load_spec_file(tmp_path / "d.yaml")).code == "PSB"
    assert parse_spec(load_spec_file(tmp_path / "d.json")).code == "SAMR"


def test_load_spec_file_names_file_and_line_on_syntax_errors(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("kind: Dataset\nspec:\n  code: [unclosed\n  title: x\n")
    with pytest.raises(InvalidArgument) as info:
        load_spec_file(bad_yaml)
    assert info.value.reason == "MALFORMED_FILE"
    assert "bad.yaml" in info.value.message
    assert "line 4" in info.value.message
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{\n  "kind": "Dataset",\n  "spec": }\n')
    with pytest.raises(InvalidArgument) as info:
        load_spec_file(bad_json)
    assert "bad.json, line 3" in info.value.message


def test_load_spec_file_refuses_non_object_and_unknown_suffix(tmp_path: Path) -> None:
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(InvalidArgument, match="expected one object"):
        load_spec_file(listed)
    with pytest.raises(InvalidArgument, match="unsupported file type"):
        load_spec_file(tmp_path / "spec.toml")
