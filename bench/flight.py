"""The bulk ceiling: an Arrow Flight server of ours streaming the same Parquet file with do_get.

In a secure run it serves mTLS (grpc+tls) with a certificate from the run's CA, as the hub does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pyarrow.dataset as pads
import pyarrow.flight as flight

from bench.tls import ServerTls


class ParquetFlightServer(flight.FlightServerBase):
    """do_get(ticket = file path) streams the file's batches as they are read, like the adapter's files source."""

    def __init__(self, location: str, batch_rows: int, tls: ServerTls | None = None) -> None:
        if tls is None:
            super().__init__(location)
        else:
            super().__init__(
                location,
                tls_certificates=[flight.CertKeyPair(tls.cert, tls.key)],
                verify_client=tls.client_ca is not None,
                root_certificates=tls.client_ca,
            )
        self.batch_rows = batch_rows

    def do_get(self, context: flight.ServerCallContext, ticket: flight.Ticket) -> flight.FlightDataStream:
        # Read and sent entirely in C++ (no Python per batch): the best this machine does with this file.
        scanner = pads.dataset(ticket.ticket.decode(), format="parquet").scanner(batch_size=self.batch_rows)
        return flight.RecordBatchStream(scanner.to_reader())


async def serve_flight(settings: dict[str, Any]) -> tuple[dict[str, Any], Callable[[], Awaitable[None]]]:
    """Server body: a Flight server on a loopback port chosen by the OS."""
    tls: ServerTls | None = settings.get("tls")
    scheme = "grpc" if tls is None else "grpc+tls"
    server = ParquetFlightServer(f"{scheme}://127.0.0.1:0", int(settings.get("batch_rows", 65_536)), tls)

    async def stop() -> None:
        await asyncio.to_thread(server.shutdown)

    return {"address": f"{scheme}://127.0.0.1:{server.port}"}, stop
