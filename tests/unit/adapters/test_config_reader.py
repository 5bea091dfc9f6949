"""An adapter configuration and a catalog spec are read alike: the same mistake, the same words, the key's path."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.config import parse_adapter_config
from catalog.specs import parse_department, parse_service_item
from exchange.errors import InvalidArgument

CONFIG = """
department: PSB
insecure_dev: true
signing: {key_file: k.pem, kid: psb-1}
datasets:
  - {dataset: a, version: "1.0", spec: a.yaml, source: {type: files, path: a.parquet, key_column: k}}
"""


def adapter_config(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CONFIG)
    data.update(changes)
    return data


def department(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"code": "PSB", "name": "Public security", "level": "province", "region_code": "370000"}
    data.update(changes)
    return data


def adapter_problems(data: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as info:
        parse_adapter_config(data, tmp_path, env={})
    assert info.value.reason == "ADAPTER_CONFIG_INVALID"
    return {v.field: v.description for v in info.value.violations}


def catalog_problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as info:
        parse_department(data)
    return {v.field: v.description for v in info.value.violations}


def test_an_unknown_key_reads_alike_and_lists_the_allowed_keys(tmp_path: Path) -> None:
    adapter = adapter_problems(adapter_config(colour="blue"), tmp_path)
    catalog = catalog_problems(department(colour="blue"))
    assert catalog["colour"].startswith("unknown key; allowed: code, name")
    assert adapter["colour"].startswith("unknown key; allowed: department, listen")


def test_an_unknown_key_deep_in_the_file_is_named_by_its_full_path(tmp_path: Path) -> None:
    data = adapter_config()
    data["datasets"][0]["source"]["colour"] = "blue"
    found = adapter_problems(data, tmp_path)
    assert found["datasets[0].source.colour"].startswith("unknown key; allowed: type, path, key_column")


def test_a_list_where_a_string_goes_reads_alike(tmp_path: Path) -> None:
    adapter = adapter_problems(adapter_config(department=["PSB"]), tmp_path)
    catalog = catalog_problems(department(name=["PSB"]))
    assert adapter["department"] == catalog["name"] == "expected a non-empty string, found array"


def test_a_number_where_text_goes_is_refused_alike_with_the_quoting_hint(tmp_path: Path) -> None:
    data = adapter_config()
    data["datasets"][0]["version"] = 1.0
    adapter = adapter_problems(data, tmp_path)
    catalog = catalog_problems(department(name=1.0))
    quote_it = 'expected a string, found the number 1.0; quote it ("1.0")'
    assert adapter["datasets[0].version"] == catalog["name"] == quote_it


def test_a_string_where_an_object_goes_reads_alike(tmp_path: Path) -> None:
    adapter = adapter_problems(adapter_config(signing="k.pem"), tmp_path)
    catalog = catalog_problems(department(keys=["k.pem"]))
    assert adapter["signing"] == catalog["keys[0]"] == "expected an object, found string"


def test_a_word_where_true_or_false_goes_reads_alike(tmp_path: Path) -> None:
    adapter = adapter_problems(adapter_config(insecure_dev="yes"), tmp_path)
    with pytest.raises(InvalidArgument) as info:
        parse_service_item(
            {
                "code": "open_shop",
                "name": "Open a shop",
                "lead_department": "SAMR",
                "time_limit_days": 20,
                "required_materials": [{"dataset": "business_licence", "fields": ["uscc"], "mandatory": "yes"}],
            }
        )
    catalog = {v.field: v.description for v in info.value.violations}
    wanted = "expected true or false, found string"
    assert adapter["insecure_dev"] == catalog["required_materials[0].mandatory"] == wanted


def test_a_missing_value_reads_alike(tmp_path: Path) -> None:
    adapter = adapter_problems({k: v for k, v in adapter_config().items() if k != "department"}, tmp_path)
    catalog = catalog_problems({k: v for k, v in department().items() if k != "name"})
    assert adapter["department"] == catalog["name"] == "required"


def test_a_code_with_a_trailing_line_break_is_refused_by_both(tmp_path: Path) -> None:
    # `$` matches before a final line break; a code must match the whole of its format.
    adapter = adapter_problems(adapter_config(department="PSB\n"), tmp_path)
    catalog = catalog_problems(department(code="PSB\n"))
    assert adapter["department"] == catalog["code"]
    assert catalog["code"].startswith("'PSB\\n' does not match")


def test_a_number_out_of_range_names_the_range(tmp_path: Path) -> None:
    data = adapter_config()
    data["datasets"][0]["source"] = {"type": "rest", "base_url": "https://x.example", "lookup_path": "/r/{key}"}
    data["datasets"][0]["source"]["timeout_seconds"] = -1
    found = adapter_problems(data, tmp_path)
    assert found["datasets[0].source.timeout_seconds"] == "expected a number in 0.001..600, found '-1'"


def test_a_file_that_is_not_an_object_reads_alike(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_department(["PSB"])  # type: ignore[arg-type]
    catalog = {v.field: v.description for v in info.value.violations}
    assert adapter_problems(["PSB"], tmp_path) == catalog == {"(top)": "expected an object, found array"}  # type: ignore[arg-type]


def test_datasets_that_are_not_a_list_are_named(tmp_path: Path) -> None:
    found = adapter_problems(adapter_config(datasets={"dataset": "a"}), tmp_path)
    assert found == {"datasets": "expected a list of datasets, found object"}
