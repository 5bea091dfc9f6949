"""ExchangeService: the record fetch (and, with the adapters, the bulk scan)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from grpc import aio

from adapters.ipc import add_servicer_passing_bytes
from exchange.fetch import Fetcher, FetchRequest
from exchange.scan import Scanner, ScanRequest
from exchange.services import caller
from exchange.services.convert import provenance_to_proto, receipt_to_proto
from exchange.v1 import exchange_pb2, exchange_pb2_grpc

Ctx = aio.ServicerContext[Any, Any]


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
            provenance=provenance_to_proto(result.provenance),
            receipt=receipt_to_proto(result.receipt),
            request_id=result.request_id,
        )

    async def Scan(  # type: ignore[override]  # relayed batches leave encoded (add_exchange_servicer_to_server)
        self, request: exchange_pb2.ScanRequest, context: Ctx
    ) -> AsyncIterator[exchange_pb2.ScanResponse | bytes]:
        """The schema and receipt as a ScanResponse, then each batch and the issuer's manifest, already encoded."""
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
                time_budget=context.time_remaining(),
            ),
        )
        async with contextlib.aclosing(stream.batches):
            receipt = receipt_to_proto(stream.receipt)
            yield exchange_pb2.ScanResponse(arrow_schema=stream.schema_message, receipt=receipt)
            async for response in stream.batches:
                yield response


def add_exchange_servicer_to_server(servicer: ExchangeServicer, server: aio.Server) -> None:
    """The generated registration, except that Scan sends relayed batch responses as the bytes they came as."""
    add_servicer_passing_bytes(exchange_pb2_grpc.add_ExchangeServiceServicer_to_server, servicer, server, "Scan")
