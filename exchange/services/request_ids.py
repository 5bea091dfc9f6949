"""The interceptor that gives every RPC its request id and hands it back in the initial metadata.

It runs outermost, before authentication, so that a refused call is logged under the id its caller
sent and the caller sees that id on errors too. Health checking and reflection get it as well.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from exchange.request_ids import HEADER, begin_request, request_id_from_metadata

Handler = Callable[..., Any]


async def _start(context: aio.ServicerContext[Any, Any]) -> None:
    """Read or make the call's id, make it current and send it as initial metadata."""
    request_id = request_id_from_metadata(context.invocation_metadata())
    begin_request(request_id)
    await context.send_initial_metadata(((HEADER, request_id),))


async def _finish(result: Any) -> Any:
    """Await a handler's result when it is awaitable (grpc.aio also accepts plain functions)."""
    return await result if inspect.isawaitable(result) else result


def _wrap_single(inner: Handler) -> Handler:
    """A handler that answers once (unary or client-streaming)."""

    async def handle(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        await _start(context)
        return await _finish(inner(request, context))

    return handle


def _wrap_stream(inner: Handler) -> Handler:
    """A server-streaming handler: an async generator stays one; a coroutine writing with context.write too."""
    if inspect.isasyncgenfunction(inner):

        async def generate(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            await _start(context)
            async for item in inner(request, context):
                yield item

        return generate

    async def write(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        await _start(context)
        return await _finish(inner(request, context))

    return write


_KINDS = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler, _wrap_single),
    ("stream_unary", grpc.stream_unary_rpc_method_handler, _wrap_single),
    ("unary_stream", grpc.unary_stream_rpc_method_handler, _wrap_stream),
    ("stream_stream", grpc.stream_stream_rpc_method_handler, _wrap_stream),
)


class RequestIdInterceptor(aio.ServerInterceptor):
    """Sets the current request id for every RPC and returns it in the `x-request-id` response header."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        for attribute, make, wrap in _KINDS:
            inner = getattr(handler, attribute)
            if inner is not None:
                return make(
                    wrap(inner),
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
        return handler
