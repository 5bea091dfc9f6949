"""The example specs the demo and the docs use: all parse, round-trip, and refer to each other correctly."""

from pathlib import Path

import pytest

from catalog.model import Dataset, DatasetKind, Department, ServiceItem, SharingType
from catalog.specs import material_violations, parse_spec, to_spec
from catalog.yaml_io import load_spec_file

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "catalog"
FILES = sorted(EXAMPLES.rglob("*.yaml"))


def load_all() -> list[Dataset | Department | ServiceItem]:
    return [parse_spec(load_spec_file(path)) for path in FILES]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_example_parses_and_round_trips(path: Path) -> None:
    obj = parse_spec(load_spec_file(path))
    assert parse_spec(to_spec(obj)) == obj


def test_examples_cover_the_demo_departments_datasets_and_item() -> None:
    objects = load_all()
    departments = {o.code for o in objects if isinstance(o, Department)}
    datasets = {o.code: o for o in objects if isinstance(o, Dataset)}
    items = {o.code for o in objects if isinstance(o, ServiceItem)}
    assert departments == {"SAMR", "PSB", "MNR", "FIRE", "SVC"}
    assert {
        "business_licence",
        "identity_record",
        "property_certificate",
        "fire_safety_certificate",
        "enterprise_register",
    } <= set(datasets)
    assert any(d.sharing_type is SharingType.NOT_SHARED for d in datasets.values())
    assert datasets["enterprise_register"].kind is DatasetKind.TABLE
    assert datasets["identity_record"].legal_basis
    assert "restaurant_permit" in items


def test_example_references_resolve() -> None:
    objects = load_all()
    departments = {o.code for o in objects if isinstance(o, Department)}
    datasets = {o.code: o for o in objects if isinstance(o, Dataset)}
    for ds in datasets.values():
        assert ds.owner in departments, ds.code
    for item in (o for o in objects if isinstance(o, ServiceItem)):
        assert item.lead_department in departments
        assert set(item.co_reviewers) <= departments
        assert material_violations(item, datasets) == []


def test_restaurant_permit_needs_the_four_materials_within_ten_days() -> None:
    item = next(o for o in load_all() if isinstance(o, ServiceItem) and o.code == "restaurant_permit")
    assert item.lead_department == "SAMR"
    assert item.time_limit_days == 10
    assert {m.dataset for m in item.required_materials} == {
        "business_licence",
        "identity_record",
        "property_certificate",
        "fire_safety_certificate",
    }
