"""The catalog over gRPC: register, search, version, and refuse bad specs with actionable errors."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
import yaml

from exchange.auth.identity import Role
from exchange.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from exchange.testing import EXAMPLES
from exchange.v1 import catalog_pb2, common_pb2, departments_pb2

LICENCE = EXAMPLES / "catalog" / "datasets" / "business_licence.yaml"


def spec(path: Path = LICENCE, **changes) -> dict:
    data = yaml.safe_load(path.read_text())
    data["spec"].update(changes)
    return data


def text(data: dict) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.fixture
async def admin(hub):
    await hub.add_department("SAMR")
    return hub.client("HUB", roles=[Role.HUB_ADMIN])


async def test_registered_dataset_is_listed_searched_and_shown(hub, admin):
    response = await admin.register_dataset(LICENCE.read_text())
    assert (response.outcome, response.dataset.version) == ("created", "1.0")

    listed = await admin.call(admin._stubs.catalog.ListDatasets, catalog_pb2.ListDatasetsRequest(owner="SAMR"))
    assert [d.code for d in listed.datasets] == ["business_licence"]
    found = await admin.call(
        admin._stubs.catalog.SearchDatasets, catalog_pb2.SearchDatasetsRequest(query="legal represent")
    )
    assert [d.code for d in found.datasets] == ["business_licence"]
    none = await admin.call(admin._stubs.catalog.SearchDatasets, catalog_pb2.SearchDatasetsRequest(query="spaceship"))
    assert list(none.datasets) == []
    shown = await admin.call(admin._stubs.catalog.GetDataset, catalog_pb2.GetDatasetRequest(code="business_licence"))
    sensitivity = {f.name: f.sensitivity for f in shown.dataset.fields}
    assert sensitivity["legal_representative_id"] == common_pb2.SENSITIVITY_SENSITIVE
    assert sensitivity["name"] == common_pb2.SENSITIVITY_PUBLIC


async def test_new_optional_field_bumps_the_minor_version(admin):
    await admin.register_dataset(LICENCE.read_text())
    data = spec()
    data["spec"]["schema"]["fields"].append({"name": "website", "type": "string", "sensitivity": "public"})
    response = await admin.register_dataset(text(data))
    assert (response.outcome, response.dataset.version) == ("minor_bump", "1.1")
    assert any("website" in c for c in response.changes)
    versions = await admin.call(
        admin._stubs.catalog.ListDatasetVersions, catalog_pb2.ListDatasetVersionsRequest(code="business_licence")
    )
    assert [v.version for v in versions.versions] == ["1.0", "1.1"]


async def test_breaking_change_is_refused_unless_it_is_a_new_major_version(admin):
    await admin.register_dataset(LICENCE.read_text())
    data = spec()
    data["spec"]["schema"]["fields"] = [f for f in data["spec"]["schema"]["fields"] if f["name"] != "company_type"]
    with pytest.raises(FailedPrecondition) as refused:
        await admin.register_dataset(text(data))
    assert refused.value.reason == "BREAKING_SCHEMA_CHANGE"
    assert "company_type" in refused.value.message and '"2.0"' in refused.value.message
    assert refused.value.grpc_code == grpc.StatusCode.FAILED_PRECONDITION

    data["spec"]["version"] = "2.0"
    response = await admin.register_dataset(text(data))
    assert (response.outcome, response.dataset.version) == ("major_bump", "2.0")


async def test_malformed_spec_names_every_field_at_fault(admin):
    data = spec(kind="recordz", sharing_type="sometimes")
    data["spec"]["schema"]["fields"][1]["type"] = "varchar(20)"
    with pytest.raises(InvalidArgument) as refused:
        await admin.register_dataset(text(data))
    fields = {v.field for v in refused.value.violations}
    assert {"kind", "sharing_type", "schema.fields[1].type"} <= fields
    assert refused.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT


async def test_key_field_must_be_in_the_schema(admin):
    with pytest.raises(InvalidArgument) as refused:
        await admin.register_dataset(text(spec(key_field="no_such_field")))
    assert "key_field" in {v.field for v in refused.value.violations}


async def test_yaml_syntax_error_says_where(admin):
    with pytest.raises(InvalidArgument) as refused:
        await admin.register_dataset("code: [unclosed\n")
    assert refused.value.reason == "MALFORMED_FILE"
    assert "line" in refused.value.message


async def test_unknown_enum_value_in_a_message_is_invalid_argument(admin):
    dataset = catalog_pb2.Dataset(code="x_set", title="X", owner="SAMR", kind=catalog_pb2.DatasetKind.ValueType(99))
    with pytest.raises(InvalidArgument) as refused:
        await admin.call(admin._stubs.catalog.RegisterDataset, catalog_pb2.RegisterDatasetRequest(dataset=dataset))
    assert "kind" in refused.value.message


async def test_unknown_dataset_is_not_found(admin):
    with pytest.raises(NotFound) as missing:
        await admin.call(admin._stubs.catalog.GetDataset, catalog_pb2.GetDatasetRequest(code="nothing_here"))
    assert missing.value.reason == "DATASET_NOT_FOUND"


async def test_department_admin_cannot_register_another_departments_dataset(hub, admin):
    await hub.add_department("PSB")
    psb_admin = hub.client("PSB", roles=[Role.DEPT_ADMIN])
    with pytest.raises(PermissionDenied) as refused:
        await psb_admin.register_dataset(LICENCE.read_text())
    assert refused.value.reason == "NOT_OWNER"
    refusals = [e for e in await hub.log_entries() if e.action == "catalog.dataset.register"]
    assert [(e.decision, e.reason, e.caller_department) for e in refusals] == [("deny", "NOT_OWNER", "PSB")]
    samr_admin = hub.client("SAMR", roles=[Role.DEPT_ADMIN])
    assert (await samr_admin.register_dataset(LICENCE.read_text())).outcome == "created"


async def test_every_registration_is_in_the_access_log(hub, admin):
    await admin.register_dataset(LICENCE.read_text())
    entries = [e for e in await hub.log_entries() if e.action == "catalog.dataset.register"]
    assert len(entries) == 1
    assert entries[0].caller_department == "HUB" and entries[0].details["target"] == "business_licence"


async def test_a_departments_english_name_round_trips_over_grpc(admin):
    """Registered as a message and read back, by the raw stubs and by the typed client."""
    message = departments_pb2.Department(
        code="PSB",
        name="市公安局",
        name_en="Municipal Public Security Bureau",
        level=departments_pb2.ADMIN_LEVEL_CITY,
        region_code="110100",
    )
    registered = await admin.call(
        admin._stubs.departments.RegisterDepartment, departments_pb2.RegisterDepartmentRequest(department=message)
    )
    assert (registered.department.name, registered.department.name_en) == (
        "市公安局",
        "Municipal Public Security Bureau",
    )
    shown = await admin.get_department("PSB")
    assert (shown.name, shown.name_en) == ("市公安局", "Municipal Public Security Bureau")
    listed = {d.code: d.name_en for d in await admin.list_departments()}
    assert listed["PSB"] == "Municipal Public Security Bureau" and listed["SAMR"] == ""


async def test_a_yaml_department_spec_registers_its_english_name(admin):
    data = yaml.safe_load((EXAMPLES / "catalog" / "departments" / "fire.yaml").read_text())
    data["spec"]["name_en"] = "Chaoyang District Fire and Rescue Detachment"
    await admin.call(
        admin._stubs.departments.RegisterDepartment, departments_pb2.RegisterDepartmentRequest(spec_text=text(data))
    )
    shown = await admin.call(admin._stubs.departments.GetDepartment, departments_pb2.GetDepartmentRequest(code="FIRE"))
    assert (shown.department.name, shown.department.name_en) == (
        "朝阳区消防救援支队",
        "Chaoyang District Fire and Rescue Detachment",
    )
