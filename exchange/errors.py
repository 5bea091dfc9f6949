"""Domain errors to gRPC status codes: the one table, and the one place that translates.

Every servicer method runs inside `guard`: a domain error becomes its status with
a `google.rpc.Status` carrying ErrorInfo (reason) and BadRequest (field
violations); anything unexpected is logged with its traceback and becomes INTERNAL
with a request id, never the exception's own text (grpc.aio would send that verbatim).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc import aio
from grpc_status import rpc_status

from catalog import errors as e
from exchange.audit.merkle import ProofError

log = logging.getLogger(__name__)

DOMAIN = "exchange.gov"

STATUS_OF: dict[type[e.ExchangeError], grpc.StatusCode] = {
    e.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    e.NotFound: grpc.StatusCode.NOT_FOUND,
    e.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    e.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    e.Aborted: grpc.StatusCode.ABORTED,
    e.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    e.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    e.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    e.Unavailable: grpc.StatusCode.UNAVAILABLE,
    e.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    # A proof the hub built from its stored tree does not verify: the stored hashes are damaged.
    # Listed before DataLoss so a client reading DATA_LOSS back gets the general class.
    ProofError: grpc.StatusCode.DATA_LOSS,
    e.DataLoss: grpc.StatusCode.DATA_LOSS,
}

ERROR_OF: dict[grpc.StatusCode, type[e.ExchangeError]] = {code: cls for cls, code in STATUS_OF.items()}


def status_code_of(error: e.ExchangeError) -> grpc.StatusCode:
    """The status of a domain error: the nearest class in the table."""
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return grpc.StatusCode.UNKNOWN


def to_grpc_status(error: e.ExchangeError) -> grpc.Status:
    """A grpc.Status with ErrorInfo and, for bad input, BadRequest details."""
    code = status_code_of(error)
    details = []
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata))
    details.append(info)
    if error.violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in error.violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad)
        details.append(packed)
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=error.message, details=details)
    return rpc_status.to_status(status)


def from_rpc_error(error: grpc.RpcError) -> e.ExchangeError:
    """Turn a status received from a peer back into a domain error (client side)."""
    code: grpc.StatusCode = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    reason, violations = code.name, list[e.FieldViolation]()
    status = _status_details(error)
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations = [e.FieldViolation(v.field, v.description) for v in bad.field_violations]
    cls = ERROR_OF.get(code, e.Unavailable if code == grpc.StatusCode.UNAVAILABLE else e.ExchangeError)
    return cls(message or code.name, reason=reason, violations=violations)


def _status_details(error: grpc.RpcError) -> status_pb2.Status | None:
    """The google.rpc.Status a server put in the trailers (works for sync and asyncio calls)."""
    trailers: Any = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in tuple(trailers or ()):
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            status = status_pb2.Status()
            status.ParseFromString(value)
            return status
    return None



async def _abort_internal(context: aio.ServicerContext, method: str) -> None:
    incident = uuid.uuid4().hex[:12]
    log.exception("unexpected error in %s (incident %s)", method, incident)
    await context.abort(
        grpc.StatusCode.INTERNAL,
        f"internal error (incident {incident}); the hub operator can find it in the hub log",
    )


Before = Callable[[str, aio.ServicerContext], Awaitable[None]]


def guard_unary(
    method: str, handler: Callable[[Any, aio.ServicerContext], Awaitable[Any]], before: Before | None = None
) -> Callable[[Any, aio.ServicerContext], Awaitable[Any]]:
    """Wrap a unary handler so every error leaves as the right status and nothing leaks."""

    async def guarded(request: Any, context: aio.ServicerContext) -> Any:
        try:
            if before is not None:
                await before(method, context)
            return await handler(request, context)
        except e.ExchangeError as error:
            await context.abort_with_status(to_grpc_status(error))
        except aio.AbortError:
            raise
        except Exception:
            await _abort_internal(context, method)

    return guarded


def guard_stream(
    method: str, handler: Callable[[Any, aio.ServicerContext], AsyncIterator[Any]], before: Before | None = None
) -> Callable[[Any, aio.ServicerContext], AsyncIterator[Any]]:
    """The same for server-streaming handlers."""

    async def guarded(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            if before is not None:
                await before(method, context)
            async for item in handler(request, context):
                yield item
        except e.ExchangeError as error:
            await context.abort_with_status(to_grpc_status(error))
        except aio.AbortError:
            raise
        except Exception:
            await _abort_internal(context, method)

    return guarded


class ErrorMappingInterceptor(aio.ServerInterceptor):
    """Applies `guard_*` to every method of the guarded services; `before` runs first (authentication)."""

    def __init__(self, before: Before | None = None, *, prefix: str = "/exchange.v1.") -> None:
        self.before = before
        self.prefix = prefix

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        if not method.startswith(self.prefix):
            return handler  # health checking and reflection are public
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                guard_unary(method, handler.unary_unary, self.before),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                guard_stream(method, handler.unary_stream, self.before),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler
