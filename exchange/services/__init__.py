"""gRPC servicers: thin translations between protobuf and the hub's domain operations.

Each servicer reads the authenticated caller with `caller()`; the hub's interceptor
put it there after checking the token and the role table.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from grpc import aio

from catalog.errors import InvalidArgument
from exchange.audit.entry import AccessLogEntry, entry_for
from exchange.auth.identity import Caller
from exchange.clock import now_us
from exchange.errors import Failure
from exchange.hub import Hub
from exchange.services.bounds import check_request, subject_of

_CALLER: ContextVar[Caller] = ContextVar("caller")


def caller() -> Caller:
    """The authenticated caller of the RPC being served."""
    return _CALLER.get()


def authenticating(hub: Hub) -> Any:
    """The hook the error-mapping interceptor runs before every exchange.v1 handler."""

    async def before(method: str, context: aio.ServicerContext[Any, Any]) -> None:
        _CALLER.set(await hub.authenticate(method, context))

    return before


# Our operation names where they are not simply "<service>.<method in snake case>" (the names the domain logs under).
_OPERATIONS = {
    "CaseService/CreateCase": "cases.create",
    "CaseService/GetCase": "cases.get",
    "CaseService/ListCases": "cases.list",
    "CaseService/TransitionCase": "cases.transition",
    "CaseService/RecordOpinion": "cases.opinion",
    "CaseService/GetMaterial": "cases.read_material",
    "CaseService/ListOverdueCases": "cases.overdue",
    "AuditService/QueryEntries": "audit.query",
    "AuditService/GetSubjectReport": "audit.subject_report",
}


def operation_of(method: str) -> str:
    """Our operation name for a full gRPC method name: /exchange.v1.ExchangeService/Fetch is exchange.fetch."""
    path = method.rsplit(".", 1)[-1]  # "ExchangeService/Fetch"
    if path in _OPERATIONS:
        return _OPERATIONS[path]
    service, _, name = path.partition("/")
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return f"{service.removesuffix('Service').lower()}.{snake}"


def recording_failures(hub: Hub) -> Any:
    """The hook the error-mapping interceptor calls for attempts nothing else logged: one entry for each."""

    async def record(method: str, context: aio.ServicerContext[Any, Any], failure: Failure) -> None:
        who = _CALLER.get(None)
        action = operation_of(method)
        entry = entry_for(who, action) if who is not None else AccessLogEntry(time_us=now_us(), action=action)
        await hub.record(
            replace(
                entry,
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
