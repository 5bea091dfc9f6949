"""gRPC servicers: thin translations between protobuf and the hub's domain operations.

Each servicer reads the authenticated caller with `caller()`; the hub's interceptor
put it there after checking the token and the role table.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from grpc import aio

from exchange.auth.identity import Caller
from exchange.hub import Hub

_CALLER: ContextVar[Caller] = ContextVar("caller")


def caller() -> Caller:
    """The authenticated caller of the RPC being served."""
    return _CALLER.get()


def authenticating(hub: Hub) -> Any:
    """The hook the error-mapping interceptor runs before every exchange.v1 handler."""

    async def before(method: str, context: aio.ServicerContext[Any, Any]) -> None:
        _CALLER.set(await hub.authenticate(method, context))

    return before
