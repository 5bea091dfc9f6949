"""gRPC servicers: thin translations between protobuf and the hub's domain operations.

Each servicer reads the authenticated caller with `caller()`; the hub's interceptor
put it there after checking the token and the policy's role for the operation the method asks
for (exchange.services.doors maps method paths to operations).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from grpc import aio

from exchange.audit.recorder import entry_of
from exchange.auth.identity import Caller
from exchange.errors import InvalidArgument
from exchange.hub import Hub
from exchange.services.bounds import check_request, subject_of
from exchange.services.doors import operation_of
from exchange.status import Failure

_CALLER: ContextVar[Caller] = ContextVar("caller")


def caller() -> Caller:
    """The authenticated caller of the RPC being served."""
    return _CALLER.get()


def authenticating(hub: Hub) -> Any:
    """The hook the error-mapping interceptor runs before every exchange.v1 handler."""

    async def before(method: str, context: aio.ServicerContext[Any, Any]) -> None:
        _CALLER.set(await hub.authenticate(operation_of(method), context))

    return before


def recording_failures(hub: Hub) -> Any:
    """The hook the error-mapping interceptor calls for attempts nothing else logged: one entry for each."""

    async def record(method: str, context: aio.ServicerContext[Any, Any], failure: Failure) -> None:
        await hub.record(
            entry_of(
                _CALLER.get(None),
                operation_of(method),
                request_id=failure.request_id,
                decision=failure.decision,
                reason=failure.reason,
                message=failure.message,
                outcome=failure.outcome,
            )
        )

    return record


def checking_input(hub: Hub) -> Any:
    """The hook that checks every request's values against their limits, after authentication.

    A refused request is logged as a deny of the authenticated caller, under its subject when the request
    names one in bounds, and never reaches the servicer (nor, so, a shared access-log batch).
    """

    async def check(method: str, request: Any, context: aio.ServicerContext[Any, Any]) -> None:
        try:
            check_request(request)
        except InvalidArgument as error:
            await hub.record_refusal(operation_of(method), caller(), error, subject_id=subject_of(request))
            raise

    return check
