"""What the server interceptors that wrap every call share: running a handler, of any kind, inside a scope.

The request-id, metrics and tracing interceptors each need "do this around the whole call": once around a
unary answer, around the whole stream for a server-streaming one. `AroundInterceptor` does the wrapping;
each interceptor only says what its scope does (`around`).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import grpc
from grpc import aio

Handler = Callable[..., Any]
Context = aio.ServicerContext[Any, Any]


class AroundInterceptor(aio.ServerInterceptor):
    """Runs every served call inside `around(method, context)`; calls with no handler go to `unserved`."""

    def around(self, method: str, context: Context) -> AbstractAsyncContextManager[None]:
        raise NotImplementedError

    def unserved(self, method: str) -> None:
        """A call to a method the server does not have (UNIMPLEMENTED); nothing by default."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None:
            self.unserved(method)
            return None
        for attribute, make, streams in _KINDS:
            inner = getattr(handler, attribute)
            if inner is not None:
                wrapped = self._stream(method, inner) if streams else self._single(method, inner)
                return make(
                    wrapped,
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
        return handler

    def _single(self, method: str, inner: Handler) -> Handler:
        async def handle(request: Any, context: Context) -> Any:
            async with self.around(method, context):
                result = inner(request, context)
                return await result if inspect.isawaitable(result) else result

        return handle

    def _stream(self, method: str, inner: Handler) -> Handler:
        async def generate(request: Any, context: Context) -> AsyncIterator[Any]:
            async with self.around(method, context):
                result = inner(request, context)
                if inspect.isawaitable(result):  # a handler writing with context.write
                    await result
                    return
                async for item in result:
                    yield item

        return generate


# Which attribute of a method handler holds its behaviour, how to rebuild it, and whether it streams out.
_KINDS = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler, False),
    ("stream_unary", grpc.stream_unary_rpc_method_handler, False),
    ("unary_stream", grpc.unary_stream_rpc_method_handler, True),
    ("stream_stream", grpc.stream_stream_rpc_method_handler, True),
)
