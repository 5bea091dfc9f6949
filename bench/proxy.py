"""The hub's floor: a bare grpc.aio pass-through proxy in front of the same adapter, with no work of its own.

It forwards each unary call's bytes to the adapter on one kept channel and returns the answer's
bytes. In a secure run it takes mTLS from its callers and speaks TLS to the adapter with the hub's
client certificate, as the hub does, so the hub's CPU per fetch over the proxy's is the cost of
the hub's own work: token, authorisation, signature check and the durable log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from bench.tls import ChannelTls, ServerTls, add_port, aio_channel

_MAX = 64 * 1024 * 1024
_OPTIONS = [("grpc.max_receive_message_length", _MAX), ("grpc.max_send_message_length", _MAX)]


class _PassThrough(grpc.GenericRpcHandler):
    """Every method becomes a unary call of the same name on the upstream channel."""

    def __init__(self, upstream: aio.Channel) -> None:
        self.upstream = upstream

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        forward: aio.UnaryUnaryMultiCallable[bytes, bytes] = self.upstream.unary_unary(handler_call_details.method)

        async def call(request: bytes, context: aio.ServicerContext[bytes, bytes]) -> bytes:
            try:
                return await forward(request, timeout=30)
            except aio.AioRpcError as error:
                await context.abort(error.code(), error.details() or "")
                raise

        return grpc.unary_unary_rpc_method_handler(call)


async def serve_proxy(settings: dict[str, Any]) -> tuple[dict[str, Any], Callable[[], Awaitable[None]]]:
    """Server body: the proxy on a loopback port, forwarding to settings['upstream']."""
    server_tls: ServerTls | None = settings.get("tls")
    upstream_tls: ChannelTls | None = settings.get("upstream_tls")
    upstream = aio_channel(settings["upstream"], upstream_tls, _OPTIONS)
    server = aio.server(options=_OPTIONS)
    server.add_generic_rpc_handlers((_PassThrough(upstream),))
    port = add_port(server, server_tls)
    await server.start()

    async def stop() -> None:
        await server.stop(1.0)
        await upstream.close()

    return {"address": f"127.0.0.1:{port}"}, stop
