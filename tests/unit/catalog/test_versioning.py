"""Schema versioning: compatible changes bump the minor, breaking ones need a new major."""

import dataclasses
from typing import Any

import pytest

from catalog.model import Dataset
from catalog.specs import parse_dataset
from catalog.versioning import diff_schemas, resolve_version
from exchange.errors import FailedPrecondition, InvalidArgument

FIELDS: list[dict[str, Any]] = [
    {"name": "uscc", "type": "string", "required": True, "sensitivity": "public"},
    {"name": "name", "type": "string", "required": True, "sensitivity": "public"},
    {"name": "capital", "type": "decimal128(18, 2)", "sensitivity": "public"},
]


def dataset(
    fields: list[dict[str, Any]] = FIELDS, version: str = "1.2", key_field: str = "uscc", **changes: Any
) -> Dataset:
    data = {
        "code": "business_licence",
        "title": "Business licence",
        "owner": "SAMR",
        "kind": "record",
        "key_field": key_field,
        "key_format": "uscc",
        "sharing_type": "unconditional",
        "update_frequency": "daily",
        "version": version,
        "schema": {"fields": fields},
    }
    data.update(changes)
    return parse_dataset(data)


def with_field(name: str, **changes: Any) -> list[dict[str, Any]]:
    return [dict(f, **changes) if f["name"] == name else f for f in FIELDS]


OLD = dataset()


def test_identical_dataset_keeps_its_version_and_has_no_changes() -> None:
    assert diff_schemas(OLD, OLD) == []
    assert resolve_version(OLD, OLD) == "1.2"


def test_metadata_only_update_keeps_the_version() -> None:
    new = dataclasses.replace(OLD, title="Business licence (electronic)", keywords=("licence",))
    assert resolve_version(OLD, new) == "1.2"


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ([*FIELDS, {"name": "scope", "type": "string"}], "added_optional"),
        (with_field("name", required=False), "made_optional"),
        (with_field("capital", sensitivity="internal"), "sensitivity_changed"),
    ],
)
def test_compatible_change_bumps_the_minor(fields: list[dict[str, Any]], kind: str) -> None:
    new = dataset(fields=fields, version="1.2")
    changes = diff_schemas(OLD, new)
    assert [c.kind for c in changes] == [kind]
    assert not changes[0].breaking
    assert resolve_version(OLD, new) == "1.3"


def test_compatible_change_ignores_a_stated_minor() -> None:
    new = dataset(fields=[*FIELDS, {"name": "scope", "type": "string"}], version="1.7")
    assert resolve_version(OLD, new) == "1.3"


def test_compatible_change_with_a_new_major_takes_that_major() -> None:
    new = dataset(fields=[*FIELDS, {"name": "scope", "type": "string"}], version="2.0")
    assert resolve_version(OLD, new) == "2.0"


BREAKING = [
    ("removed", "capital", dict(fields=FIELDS[:2])),
    ("retyped", "capital", dict(fields=with_field("capital", type="float64"))),
    ("made_required", "capital", dict(fields=with_field("capital", required=True))),
    (
        "added_required",
        "scope",
        dict(fields=[*FIELDS, {"name": "scope", "type": "string", "required": True}]),
    ),
    ("key_changed", "name", dict(key_field="name")),
]


@pytest.mark.parametrize(("kind", "field", "changes"), BREAKING)
def test_breaking_change_is_refused_within_a_major(kind: str, field: str, changes: dict[str, Any]) -> None:
    new = dataset(version="1.3", **changes)
    found = [c for c in diff_schemas(OLD, new) if c.breaking]
    assert [(c.kind, c.field) for c in found] == [(kind, field)]
    with pytest.raises(FailedPrecondition) as info:
        resolve_version(OLD, new)
    assert info.value.reason == "BREAKING_SCHEMA_CHANGE"
    assert f"{field}: {kind}" in info.value.message
    assert 'version "2.0"' in info.value.message


@pytest.mark.parametrize(("kind", "field", "changes"), BREAKING)
def test_breaking_change_is_accepted_as_a_new_major(kind: str, field: str, changes: dict[str, Any]) -> None:
    assert resolve_version(OLD, dataset(version="2.0", **changes)) == "2.0"


def test_every_breaking_change_is_listed_together() -> None:
    new = dataset(fields=[FIELDS[0], dict(FIELDS[1], type="int64")], version="1.2")
    with pytest.raises(FailedPrecondition) as info:
        resolve_version(OLD, new)
    assert "name: retyped" in info.value.message
    assert "capital: removed" in info.value.message


def test_lower_version_is_refused() -> None:
    with pytest.raises(InvalidArgument) as info:
        resolve_version(OLD, dataset(version="1.1"))
    assert "lower than the current 1.2" in info.value.message
