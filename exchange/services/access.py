"""AccessService: grants, access requests and explained decisions."""

from __future__ import annotations

from typing import Any

from grpc import aio

from exchange.clock import now_us
from exchange.registry import Registry
from exchange.services import caller
from exchange.services.convert import (
    ACCESS_REQUEST_STATUS,
    access_request_to_proto,
    grant_to_proto,
    next_page,
    optional_enum,
    page_bounds,
)
from exchange.v1 import access_pb2, access_pb2_grpc, common_pb2

Ctx = aio.ServicerContext[Any, Any]


class AccessServicer(access_pb2_grpc.AccessServiceServicer):
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def CreateGrant(self, request: access_pb2.CreateGrantRequest, context: Ctx) -> access_pb2.CreateGrantResponse:
        grant = await self.registry.create_grant(
            caller(),
            consumer=request.consumer,
            dataset=request.dataset,
            fields=tuple(request.fields),
            service_items=tuple(request.service_items),
            valid_from_us=request.valid_from_us,
            valid_until_us=request.valid_until_us,
            rate_per_minute=request.rate_per_minute,
        )
        return access_pb2.CreateGrantResponse(grant=grant_to_proto(grant, now_us()))

    async def GetGrant(self, request: access_pb2.GetGrantRequest, context: Ctx) -> access_pb2.GetGrantResponse:
        grant = await self.registry.get_grant(request.id, caller())
        return access_pb2.GetGrantResponse(grant=grant_to_proto(grant, now_us()))

    async def ListGrants(self, request: access_pb2.ListGrantsRequest, context: Ctx) -> access_pb2.ListGrantsResponse:
        offset, size = page_bounds(request.page)
        found = await self.registry.list_grants(
            caller(),
            consumer=request.consumer,
            dataset=request.dataset,
            include_inactive=request.include_inactive,
            offset=offset,
            limit=size,
        )
        now = now_us()
        return access_pb2.ListGrantsResponse(
            grants=[grant_to_proto(g, now) for g in found], page=next_page(offset, size, len(found))
        )

    async def RevokeGrant(self, request: access_pb2.RevokeGrantRequest, context: Ctx) -> access_pb2.RevokeGrantResponse:
        grant = await self.registry.revoke_grant(request.id, request.reason, caller())
        return access_pb2.RevokeGrantResponse(grant=grant_to_proto(grant, now_us()))

    async def CreateAccessRequest(
        self, request: access_pb2.CreateAccessRequestRequest, context: Ctx
    ) -> access_pb2.CreateAccessRequestResponse:
        created = await self.registry.create_access_request(
            caller(),
            dataset=request.dataset,
            fields=tuple(request.fields),
            service_items=tuple(request.service_items),
            legal_basis=request.legal_basis,
            justification=request.justification,
            valid_until_us=request.valid_until_us,
            rate_per_minute=request.rate_per_minute,
        )
        return access_pb2.CreateAccessRequestResponse(
            request=access_request_to_proto(created, self.registry.hub.clock())
        )

    async def GetAccessRequest(
        self, request: access_pb2.GetAccessRequestRequest, context: Ctx
    ) -> access_pb2.GetAccessRequestResponse:
        found = await self.registry.get_access_request(request.id, caller())
        return access_pb2.GetAccessRequestResponse(request=access_request_to_proto(found, self.registry.hub.clock()))

    async def ListAccessRequests(
        self, request: access_pb2.ListAccessRequestsRequest, context: Ctx
    ) -> access_pb2.ListAccessRequestsResponse:
        offset, size = page_bounds(request.page)
        found = await self.registry.list_access_requests(
            caller(),
            owner=request.owner,
            consumer=request.consumer,
            status=optional_enum(access_pb2.AccessRequestStatus, request.status, ACCESS_REQUEST_STATUS, "status"),
            overdue_only=request.overdue_only,
            offset=offset,
            limit=size,
        )
        now = self.registry.hub.clock()
        return access_pb2.ListAccessRequestsResponse(
            requests=[access_request_to_proto(r, now) for r in found], page=next_page(offset, size, len(found))
        )

    async def DecideAccessRequest(
        self, request: access_pb2.DecideAccessRequestRequest, context: Ctx
    ) -> access_pb2.DecideAccessRequestResponse:
        decided, grant = await self.registry.decide_access_request(
            request.id, approve=request.approve, reason=request.reason, caller=caller()
        )
        now = now_us()
        response = access_pb2.DecideAccessRequestResponse(request=access_request_to_proto(decided, now))
        if grant is not None:
            response.grant.CopyFrom(grant_to_proto(grant, now))
        return response

    async def ExplainAccess(
        self, request: access_pb2.ExplainAccessRequest, context: Ctx
    ) -> access_pb2.ExplainAccessResponse:
        decision = await self.registry.explain_access(
            caller(),
            department=request.department,
            dataset=request.dataset,
            case_id=request.purpose.case_id,
            service_item=request.purpose.service_item,
            fields=tuple(request.fields),
        )
        return access_pb2.ExplainAccessResponse(
            decision=common_pb2.DECISION_ALLOW if decision.allowed else common_pb2.DECISION_DENY,
            reason=decision.reason,
            message=decision.message,
            fields=list(decision.fields),
            grant_id=decision.grant.id if decision.grant else "",
            checks=list(decision.checks),
        )
