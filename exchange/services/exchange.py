"""ExchangeService: the record fetch (and, with the adapters, the bulk scan)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import grpc
from grpc import aio

from exchange.fetch import Fetcher, FetchRequest, FetchResult
from exchange.scan import Scanner, ScanRequest
from exchange.services import caller
from exchange.services.convert import receipt_to_proto
from exchange.v1 import common_pb2, exchange_pb2, exchange_pb2_grpc

Ctx = aio.ServicerContext[Any, Any]
SERVICE = exchange_pb2.DESCRIPTOR.services_by_name["ExchangeService"].full_name


def provenance_to_proto(result: FetchResult) -> common_pb2.Provenance:
    p = result.provenance
    return common_pb2.Provenance(
        issuer=p.issuer,
        dataset=p.dataset,
        dataset_version=p.dataset_version,
        key=p.key,
        issued_at_us=p.issued_at_us,
        kid=p.kid,
        signature=p.signature,
        content_digest=p.content_digest,
        fetched_at_us=p.fetched_at_us,
    )


class ExchangeServicer(exchange_pb2_grpc.ExchangeServiceServicer):
    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.scanner = Scanner(fetcher)

    async def Fetch(self, request: exchange_pb2.FetchRequest, context: Ctx) -> exchange_pb2.FetchResponse:
        result = await self.fetcher.fetch(
            caller(),
            FetchRequest(
                dataset=request.dataset,
                key=request.key,
                case_id=request.purpose.case_id,
                service_item=request.purpose.service_item,
                fields=tuple(request.fields),
                request_id=request.request_id[:64],
                note=request.purpose.note[:500],
                time_budget=context.time_remaining(),
            ),
        )
        return exchange_pb2.FetchResponse(
            document_json=result.document_json,
            fields=list(result.fields),
            provenance=provenance_to_proto(result),
            receipt=receipt_to_proto(result.receipt),
            request_id=result.request_id,
        )

    async def Scan(  # type: ignore[override]  # relayed batches leave encoded (add_exchange_servicer_to_server)
        self, request: exchange_pb2.ScanRequest, context: Ctx
    ) -> AsyncIterator[exchange_pb2.ScanResponse | bytes]:
        """The schema and receipt as a ScanResponse, then each batch as an already encoded ScanResponse."""
        stream = await self.scanner.open(
            caller(),
            ScanRequest(
                dataset=request.dataset,
                columns=tuple(request.columns),
                filter=request.filter,
                case_id=request.purpose.case_id,
                service_item=request.purpose.service_item,
                batch_rows=request.batch_rows,
                request_id=request.request_id[:64],
            ),
        )
        async with contextlib.aclosing(stream.batches):
            receipt = receipt_to_proto(stream.receipt)
            yield exchange_pb2.ScanResponse(arrow_schema=stream.schema_message, receipt=receipt)
            async for response in stream.batches:
                yield response


def serialize_scan_response(response: exchange_pb2.ScanResponse | bytes) -> bytes:
    """A ScanResponse encoded; one that already is (a relayed batch) is sent as it is."""
    return response if isinstance(response, bytes) else response.SerializeToString()


def add_exchange_servicer_to_server(servicer: ExchangeServicer, server: aio.Server) -> None:
    """The generated registration, with Scan's responses serialised by `serialize_scan_response`."""
    handlers: dict[str, grpc.RpcMethodHandler] = {}

    class Collect:
        """Stands in for the server to collect the generated method handlers."""

        def add_generic_rpc_handlers(self, _: object) -> None:
            pass

        def add_registered_method_handlers(self, _: str, found: dict[str, grpc.RpcMethodHandler]) -> None:
            handlers.update(found)

    exchange_pb2_grpc.add_ExchangeServiceServicer_to_server(servicer, cast(aio.Server, Collect()))
    scan = handlers["Scan"]
    assert scan.unary_stream is not None
    handlers["Scan"] = grpc.unary_stream_rpc_method_handler(
        scan.unary_stream, request_deserializer=scan.request_deserializer, response_serializer=serialize_scan_response
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)
