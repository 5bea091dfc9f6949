"""AccessService: grants (and, with the authorisation work, access requests and explanations)."""

from __future__ import annotations

from typing import Any

from grpc import aio

from exchange.clock import now_us
from exchange.registry import Registry
from exchange.services import caller
from exchange.services.convert import grant_to_proto, next_page, page_bounds
from exchange.storage import grant_store
from exchange.v1 import access_pb2, access_pb2_grpc

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
        return access_pb2.GetGrantResponse(grant=grant_to_proto(await self.registry.get_grant(request.id), now_us()))

    async def ListGrants(self, request: access_pb2.ListGrantsRequest, context: Ctx) -> access_pb2.ListGrantsResponse:
        offset, size = page_bounds(request.page)
        async with self.registry.hub.db.read() as conn:
            found = await grant_store.list_grants(
                conn,
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
