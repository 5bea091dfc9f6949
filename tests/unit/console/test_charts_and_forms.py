"""Pure pieces of the console: the SVG charts and the dataset form's mapping to a spec."""

from __future__ import annotations

import re

from exchange.console import charts
from exchange.console.convert import dataset_form_values, dataset_spec_from_form

HOUR = charts.HOUR_US


def test_the_chart_axis_has_every_hour_of_the_window_even_empty_ones():
    assert charts.hours_between(HOUR * 10 + 5, HOUR * 13) == [HOUR * 10, HOUR * 11, HOUR * 12]


def test_bars_stack_departments_and_the_tallest_hour_sets_the_scale():
    counts = [
        charts.HourCount(HOUR, "SAMR", 3, 1),
        charts.HourCount(HOUR, "PSB", 2, 0),
        charts.HourCount(0, "PSB", 1, 0),
    ]
    svg, legend = charts.accesses_per_hour(counts, [0, HOUR], "entries")
    assert legend == [("PSB", charts.PALETTE[0]), ("SAMR", charts.PALETTE[1])]
    assert re.findall(r"<title>(\w+) \d\d-\d\d \d\d:00: (\d+)</title>", svg) == [
        ("PSB", "1"),
        ("PSB", "2"),
        ("SAMR", "4"),
    ]
    assert ">6</text>" in svg  # the y axis tops out at the busiest hour


def test_the_denial_share_skips_hours_without_entries():
    counts = [charts.HourCount(0, "SAMR", 3, 1), charts.HourCount(2 * HOUR, "SAMR", 0, 2)]
    svg = charts.denial_share(counts, [0, HOUR, 2 * HOUR], "denials")
    assert re.findall(r": (\d+)%</title>", svg) == ["25", "100"]


def test_blank_schema_rows_are_dropped_and_the_rest_renumbered_so_errors_match_the_form():
    form = {"code": "x", "schema.fields[0].name": "", "schema.fields[0].type": ""}
    form |= {"schema.fields[1].name": "id", "schema.fields[1].type": "string", "schema.fields[1].required": "on"}
    spec = dataset_spec_from_form(form)
    assert spec["schema"]["fields"] == [{"name": "id", "type": "string", "sensitivity": "", "required": True}]
    assert "legal_basis" not in spec  # optional and empty: left out, as in a YAML spec
    shown = dataset_form_values(spec)["fields"]
    assert shown[0]["name"] == "id" and shown[1]["name"] == ""  # then blank rows to add more


def test_the_dataset_form_carries_the_resource_catalogue_fields_there_and_back():
    from catalog.specs import dataset_to_dict, parse_dataset
    from catalog.yaml_io import load_spec_file
    from exchange.testing import EXAMPLES

    dataset = parse_dataset(load_spec_file(EXAMPLES / "catalog" / "datasets" / "identity_record.yaml")["spec"])
    values = dataset_form_values(dataset_to_dict(dataset))
    assert values["classification"] == "基础信息资源 / 人口信息 / 户籍和居民身份"
    form = {k: v for k, v in values.items() if k != "fields"}
    for i, row in enumerate(values["fields"]):
        for key, value in row.items():
            form[f"schema.fields[{i}].{key}"] = "on" if value is True else ("" if value is False else value)
    assert parse_dataset(dataset_spec_from_form(form)) == dataset
