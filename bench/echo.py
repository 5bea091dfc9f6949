"""The ceiling: a bare grpc.aio service that answers every request with a fixed payload of the fetch's size.

In a secure run it serves mTLS with a certificate from the run's CA, as the hub does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from bench.tls import ServerTls, add_port

ECHO_METHOD = "/bench.Echo/Call"
_MAX = 64 * 1024 * 1024


async def serve_echo(settings: dict[str, Any]) -> tuple[dict[str, Any], Callable[[], Awaitable[None]]]:
    """Start the echo server on a loopback port; every answer is `response_bytes` long."""
    answer = b"x" * int(settings.get("response_bytes", 64))

    async def call(request: bytes, context: aio.ServicerContext[bytes, bytes]) -> bytes:
        return answer

    handler = grpc.method_handlers_generic_handler("bench.Echo", {"Call": grpc.unary_unary_rpc_method_handler(call)})
    server = aio.server(options=[("grpc.max_receive_message_length", _MAX), ("grpc.max_send_message_length", _MAX)])
    server.add_generic_rpc_handlers((handler,))
    tls: ServerTls | None = settings.get("tls")
    port = add_port(server, tls)
    await server.start()

    async def stop() -> None:
        await server.stop(1.0)

    return {"address": f"127.0.0.1:{port}"}, stop
