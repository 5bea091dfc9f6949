"""The interceptor that gives every RPC its request id and hands it back in the initial metadata.

It runs outermost, before authentication, so that a refused call is logged under the id its caller
sent and the caller sees that id on errors too. Health checking and reflection get it as well.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from grpc import aio

from exchange.interceptors import AroundInterceptor, Context
from exchange.request_ids import HEADER, begin_request, request_id_from_metadata


async def _start(context: aio.ServicerContext[Any, Any]) -> None:
    """Read or make the call's id, make it current and send it as initial metadata."""
    request_id = request_id_from_metadata(context.invocation_metadata())
    begin_request(request_id)
    await context.send_initial_metadata(((HEADER, request_id),))


class RequestIdInterceptor(AroundInterceptor):
    """Sets the current request id for every RPC and returns it in the `x-request-id` response header."""

    @asynccontextmanager
    async def around(self, method: str, context: Context) -> AsyncIterator[None]:
        await _start(context)
        yield
