"""CatalogService, DepartmentService and ServiceItemService: the registry over gRPC."""

from __future__ import annotations

from typing import Any

from grpc import aio

from catalog.model import DatasetStatus, DepartmentStatus
from catalog.specs import parse_dataset, parse_department, parse_service_item
from exchange.app.catalog_queries import CatalogQueries
from exchange.app.parsing import spec_from_text
from exchange.registry import Registry
from exchange.services import caller
from exchange.services.convert import (
    dataset_from_proto,
    dataset_to_proto,
    department_from_proto,
    department_roles_to_proto,
    enum_name,
    key_from_proto,
    next_page,
    next_service_item_page,
    optional_enum,
    page_bounds,
    service_item_from_proto,
    service_item_page,
    service_item_to_proto,
)
from exchange.v1 import (
    catalog_pb2,
    catalog_pb2_grpc,
    departments_pb2,
    departments_pb2_grpc,
    items_pb2,
    items_pb2_grpc,
)
from exchange.wire import department_to_proto

Ctx = aio.ServicerContext[Any, Any]


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, registry: Registry, queries: CatalogQueries) -> None:
        self.registry = registry
        self.queries = queries

    async def RegisterDataset(
        self, request: catalog_pb2.RegisterDatasetRequest, context: Ctx
    ) -> catalog_pb2.RegisterDatasetResponse:
        if request.WhichOneof("spec") == "spec_text":
            ds = parse_dataset(spec_from_text(request.spec_text, "Dataset"))
        else:
            ds = dataset_from_proto(request.dataset)
        stored, result = await self.registry.register_dataset(ds, caller(), dry_run=request.dry_run)
        return catalog_pb2.RegisterDatasetResponse(
            dataset=dataset_to_proto(stored), outcome=result.outcome, changes=list(result.changes)
        )

    async def GetDataset(self, request: catalog_pb2.GetDatasetRequest, context: Ctx) -> catalog_pb2.GetDatasetResponse:
        ds = await self.registry.get_dataset(request.code, request.version)
        return catalog_pb2.GetDatasetResponse(dataset=dataset_to_proto(ds))

    async def ListDatasets(
        self, request: catalog_pb2.ListDatasetsRequest, context: Ctx
    ) -> catalog_pb2.ListDatasetsResponse:
        offset, size = page_bounds(request.page)
        found = await self.queries.list_datasets(
            owner=request.owner,
            status=optional_enum(catalog_pb2.DatasetStatus, request.status, "DATASET_STATUS_", "status"),
            sharing_type=optional_enum(catalog_pb2.SharingType, request.sharing_type, "SHARING_TYPE_", "sharing_type"),
            offset=offset,
            limit=size,
        )
        return catalog_pb2.ListDatasetsResponse(
            datasets=[dataset_to_proto(s.dataset, s.registered_at_us) for s in found],
            page=next_page(offset, size, len(found)),
        )

    async def SearchDatasets(
        self, request: catalog_pb2.SearchDatasetsRequest, context: Ctx
    ) -> catalog_pb2.SearchDatasetsResponse:
        offset, size = page_bounds(request.page)
        found = await self.queries.search_datasets(request.query, offset=offset, limit=size)
        return catalog_pb2.SearchDatasetsResponse(
            datasets=[dataset_to_proto(s.dataset, s.registered_at_us) for s in found],
            page=next_page(offset, size, len(found)),
        )

    async def ListDatasetVersions(
        self, request: catalog_pb2.ListDatasetVersionsRequest, context: Ctx
    ) -> catalog_pb2.ListDatasetVersionsResponse:
        await self.registry.get_dataset(request.code)
        versions = await self.queries.list_dataset_versions(request.code)
        return catalog_pb2.ListDatasetVersionsResponse(
            versions=[dataset_to_proto(s.dataset, s.registered_at_us) for s in versions]
        )

    async def SetDatasetStatus(
        self, request: catalog_pb2.SetDatasetStatusRequest, context: Ctx
    ) -> catalog_pb2.SetDatasetStatusResponse:
        status = DatasetStatus(enum_name(catalog_pb2.DatasetStatus, request.status, "DATASET_STATUS_", "status"))
        ds = await self.registry.set_dataset_status(request.code, status.value, caller())
        return catalog_pb2.SetDatasetStatusResponse(dataset=dataset_to_proto(ds))


class DepartmentServicer(departments_pb2_grpc.DepartmentServiceServicer):
    def __init__(self, registry: Registry, queries: CatalogQueries) -> None:
        self.registry = registry
        self.queries = queries

    async def RegisterDepartment(
        self, request: departments_pb2.RegisterDepartmentRequest, context: Ctx
    ) -> departments_pb2.RegisterDepartmentResponse:
        if request.WhichOneof("spec") == "spec_text":
            dept = parse_department(spec_from_text(request.spec_text, "Department"))
        else:
            dept = department_from_proto(request.department)
        result = await self.registry.register_department(dept, caller())
        stored = await self.registry.get_department(dept.code)
        return departments_pb2.RegisterDepartmentResponse(
            department=department_to_proto(stored), outcome=result.outcome
        )

    async def GetDepartment(
        self, request: departments_pb2.GetDepartmentRequest, context: Ctx
    ) -> departments_pb2.GetDepartmentResponse:
        return departments_pb2.GetDepartmentResponse(
            department=department_to_proto(await self.registry.get_department(request.code))
        )

    async def ListDepartments(
        self, request: departments_pb2.ListDepartmentsRequest, context: Ctx
    ) -> departments_pb2.ListDepartmentsResponse:
        offset, size = page_bounds(request.page)
        found = await self.queries.list_departments(offset=offset, limit=size)
        return departments_pb2.ListDepartmentsResponse(
            departments=[department_to_proto(d) for d in found], page=next_page(offset, size, len(found))
        )

    async def AddDepartmentKey(
        self, request: departments_pb2.AddDepartmentKeyRequest, context: Ctx
    ) -> departments_pb2.AddDepartmentKeyResponse:
        dept = await self.registry.add_key(request.department, key_from_proto(request.key), caller())
        return departments_pb2.AddDepartmentKeyResponse(department=department_to_proto(dept))

    async def RetireDepartmentKey(
        self, request: departments_pb2.RetireDepartmentKeyRequest, context: Ctx
    ) -> departments_pb2.RetireDepartmentKeyResponse:
        dept = await self.registry.retire_key(request.department, request.kid, caller())
        return departments_pb2.RetireDepartmentKeyResponse(department=department_to_proto(dept))

    async def SetDepartmentStatus(
        self, request: departments_pb2.SetDepartmentStatusRequest, context: Ctx
    ) -> departments_pb2.SetDepartmentStatusResponse:
        status = DepartmentStatus(
            enum_name(departments_pb2.DepartmentStatus, request.status, "DEPARTMENT_STATUS_", "status")
        )
        dept = await self.registry.set_department_status(request.code, status, request.reason, caller())
        return departments_pb2.SetDepartmentStatusResponse(department=department_to_proto(dept))

    async def GetDepartmentRoles(
        self, request: departments_pb2.GetDepartmentRolesRequest, context: Ctx
    ) -> departments_pb2.GetDepartmentRolesResponse:
        held = await self.registry.get_department_roles(request.code, caller())
        return departments_pb2.GetDepartmentRolesResponse(roles=department_roles_to_proto(held))

    async def SetDepartmentRoles(
        self, request: departments_pb2.SetDepartmentRolesRequest, context: Ctx
    ) -> departments_pb2.SetDepartmentRolesResponse:
        held = await self.registry.set_department_roles(
            request.code,
            caller(),
            roles=tuple(request.roles),
            officer_id=request.officer_id,
            reset=request.reset,
            reason=request.reason,
        )
        return departments_pb2.SetDepartmentRolesResponse(roles=department_roles_to_proto(held))


class ServiceItemServicer(items_pb2_grpc.ServiceItemServiceServicer):
    def __init__(self, registry: Registry, queries: CatalogQueries) -> None:
        self.registry = registry
        self.queries = queries

    async def RegisterServiceItem(
        self, request: items_pb2.RegisterServiceItemRequest, context: Ctx
    ) -> items_pb2.RegisterServiceItemResponse:
        if request.WhichOneof("spec") == "spec_text":
            item = parse_service_item(spec_from_text(request.spec_text, "ServiceItem"))
        else:
            item = service_item_from_proto(request.item)
        result = await self.registry.register_service_item(item, caller())
        return items_pb2.RegisterServiceItemResponse(item=service_item_to_proto(item), outcome=result.outcome)

    async def GetServiceItem(
        self, request: items_pb2.GetServiceItemRequest, context: Ctx
    ) -> items_pb2.GetServiceItemResponse:
        return items_pb2.GetServiceItemResponse(
            item=service_item_to_proto(await self.registry.get_service_item(request.code))
        )

    async def ListServiceItems(
        self, request: items_pb2.ListServiceItemsRequest, context: Ctx
    ) -> items_pb2.ListServiceItemsResponse:
        after, size = service_item_page(request.page)
        found = await self.queries.list_service_items(
            department=request.department, national_code=request.national_code, after=after, limit=size
        )
        return items_pb2.ListServiceItemsResponse(
            items=[service_item_to_proto(i) for i in found], page=next_service_item_page(found, size)
        )
