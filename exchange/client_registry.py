"""What the Python client returns for the registry: datasets, departments and service items as plain
dataclasses (enum values as people say them: "unconditional", "county", "active"), made from the wire here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf.json_format import MessageToDict

from exchange.v1 import catalog_pb2, departments_pb2, items_pb2
from exchange.wire import enum_text, from_message

# Wire enum prefixes dropped when a value is shown: SHARING_TYPE_UNCONDITIONAL -> unconditional.
ENUM_PREFIXES = (
    "SHARING_TYPE_",
    "DATASET_KIND_",
    "DATASET_STATUS_",
    "SENSITIVITY_",
    "KEY_FORMAT_",
    "ADMIN_LEVEL_",
    "DEPARTMENT_STATUS_",
    "KEY_USE_",
    "KEY_STATUS_",
)


def _readable(data: Any) -> Any:
    """Protobuf JSON with enum names as people say them."""
    if isinstance(data, dict):
        return {k: _readable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_readable(v) for v in data]
    if isinstance(data, str) and data.isupper() and "_" in data:
        for prefix in ENUM_PREFIXES:
            if data.startswith(prefix):
                return data.removeprefix(prefix).lower()
    return data


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset version as the catalog holds it; `spec` is the whole of it (schema included) as plain data."""

    code: str
    version: str
    title: str
    owner: str
    kind: str
    sharing: str
    status: str
    spec: dict[str, Any]
    # The resource catalogue's code (资源代码) and classification (资源分类); the rest of it is in `spec`.
    resource_code: str = ""
    classification: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetRegistration:
    """The result of registering a spec: the version it got, "created"/"unchanged"/..., and what changed."""

    dataset: DatasetInfo
    outcome: str
    changes: tuple[str, ...]


@dataclass(frozen=True)
class DepartmentKeyInfo:
    kid: str
    use: str
    algorithm: str
    status: str
    public_key_pem: str = ""


@dataclass(frozen=True)
class DepartmentInfo:
    code: str
    name: str
    level: str
    region_code: str
    status: str
    adapter_endpoint: str
    keys: tuple[DepartmentKeyInfo, ...]
    registered_at_us: int = 0
    # The English name; empty when the department has none (`name`, in Chinese, is the primary one).
    name_en: str = ""


@dataclass(frozen=True)
class ServiceItemInfo:
    """A service item (政务服务事项); `spec` is the whole of it (required materials included) as plain data."""

    code: str
    name: str
    lead_department: str
    co_reviewers: tuple[str, ...]
    time_limit_days: int
    materials: tuple[str, ...]
    spec: dict[str, Any]
    # The national catalogue's codes (基本编码, 实施编码); empty when the item has none.
    basic_code: str = ""
    implementation_code: str = ""


def dataset_from_proto(d: catalog_pb2.Dataset) -> DatasetInfo:
    return from_message(
        DatasetInfo,
        d,
        sharing=enum_text(catalog_pb2.SharingType, d.sharing_type),
        spec=_readable(MessageToDict(d, preserving_proto_field_name=True)),
    )


def department_from_proto(d: departments_pb2.Department) -> DepartmentInfo:
    return from_message(
        DepartmentInfo,
        d,
        keys=tuple(from_message(DepartmentKeyInfo, k) for k in d.keys),
    )


def service_item_from_proto(i: items_pb2.ServiceItem) -> ServiceItemInfo:
    return from_message(
        ServiceItemInfo,
        i,
        materials=tuple(m.dataset for m in i.required_materials),
        spec=_readable(MessageToDict(i, preserving_proto_field_name=True)),
    )
