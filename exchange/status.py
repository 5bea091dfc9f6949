"""Domain errors to gRPC status codes: the one table, and the one place that translates.

Every servicer method runs inside `guard`: a domain error becomes its status with
a `google.rpc.Status` carrying ErrorInfo (reason) and BadRequest (field
violations); anything unexpected is logged with its traceback and becomes INTERNAL
with a request id, never the exception's own text (grpc.aio would send that verbatim).
A request whose bytes do not parse reaches the guard as a `MalformedRequest` (grpc.aio
would answer UNKNOWN with the parser's exception), so it is refused as INVALID_ARGUMENT
and logged like any other attempt.

Everything sent back is bounded (`bounded`, `quote`): a caller's 10,000-character value
echoed into a message would push the trailers past gRPC's limit, and the caller would
see RESOURCE_EXHAUSTED instead of the status it earned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc import aio
from grpc_status import rpc_status

from exchange import errors as e
from exchange.attempts import DEADLINE_SLACK_SECONDS, Attempt, begin_attempt
from exchange.audit.entry import Decision, decision_for
from exchange.audit.merkle import ProofError
from exchange.error_text import language_of_metadata, localized_detail

# Re-exported: the bounds live with the error types, so domain code quotes caller input without importing gRPC.
from exchange.errors import MAX_MESSAGE_CHARS as MAX_MESSAGE_CHARS
from exchange.errors import MAX_QUOTED_CHARS as MAX_QUOTED_CHARS
from exchange.errors import bounded as bounded
from exchange.errors import quote as quote
from exchange.request_ids import current_request_id

log = logging.getLogger(__name__)

DOMAIN = "exchange.gov"

# Bounds on everything an error sends back (the trailers stay a few KiB even when each is full).
MAX_DETAIL_CHARS = 256
MAX_FIELD_CHARS = 128
MAX_VIOLATIONS = 20
MAX_METADATA = 16


class InternalError(e.ExchangeError):
    """A failure the hub did not expect (a bug, a database that failed a read): INTERNAL, details in the hub log."""

    default_reason = "INTERNAL"


# Built from the one table of status names (exchange.errors.STATUS_NAMES).
STATUS_OF: dict[type[e.ExchangeError], grpc.StatusCode] = {
    **{cls: grpc.StatusCode[name] for cls, name in e.STATUS_NAMES.items() if cls is not e.DataLoss},
    InternalError: grpc.StatusCode.INTERNAL,
    # A proof the hub built from its stored tree does not verify: the stored hashes are damaged.
    # Listed before DataLoss so a client reading DATA_LOSS back gets the general class.
    ProofError: grpc.StatusCode.DATA_LOSS,
    e.DataLoss: grpc.StatusCode.DATA_LOSS,
}

ERROR_OF: dict[grpc.StatusCode, type[e.ExchangeError]] = {code: cls for cls, code in STATUS_OF.items()}


def status_code_of(error: e.ExchangeError) -> grpc.StatusCode:
    """The status of a domain error: the nearest class in the table."""
    return grpc.StatusCode[e.status_name(error)]


def _bounded_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    items = list(metadata.items())[:MAX_METADATA]
    return {bounded(str(k), MAX_QUOTED_CHARS): bounded(str(v), MAX_DETAIL_CHARS) for k, v in items}


def to_grpc_status(error: e.ExchangeError, language: str = "en") -> grpc.Status:
    """A grpc.Status with ErrorInfo, LocalizedMessage (in `language`), for bad input BadRequest; all bounded."""
    code = status_code_of(error)
    details = []
    info = any_pb2.Any()
    reason = bounded(error.reason, MAX_QUOTED_CHARS)
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=_bounded_metadata(error.metadata)))
    details.append(info)
    if error.violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=bounded(v.field, MAX_FIELD_CHARS), description=bounded(v.description, MAX_DETAIL_CHARS)
                )
                for v in error.violations[:MAX_VIOLATIONS]
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad)
        details.append(packed)
    details.append(localized_detail(error, language))
    message = bounded(error.message)
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=details)
    return rpc_status.to_status(status)


def from_rpc_error(error: grpc.RpcError) -> e.ExchangeError:
    """Turn a status received from a peer back into a domain error (client side)."""
    code: grpc.StatusCode = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    reason, violations, localized = code.name, list[e.FieldViolation](), error_details_pb2.LocalizedMessage()
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
            elif detail.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
                detail.Unpack(localized)
    cls = ERROR_OF.get(code, e.Unavailable if code == grpc.StatusCode.UNAVAILABLE else e.ExchangeError)
    found = cls(message or code.name, reason=reason, violations=violations)
    found.localized_message, found.locale = localized.message, localized.locale
    return found


def _status_details(error: grpc.RpcError) -> status_pb2.Status | None:
    """The google.rpc.Status a server put in the trailers (works for sync and asyncio calls)."""
    trailers: Any = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in tuple(trailers or ()):
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            status = status_pb2.Status()
            status.ParseFromString(value)
            return status
    return None


@dataclass(frozen=True)
class MalformedRequest:
    """Stands in for a request whose bytes did not parse, so the guard can refuse it and log the attempt."""

    type_name: str


def tolerant_deserializer(deserialize: Callable[[bytes], Any] | None, fallback: str) -> Callable[[bytes], Any] | None:
    """The method's request parser, returning a MalformedRequest instead of raising."""
    if deserialize is None:
        return None
    message_class = getattr(deserialize, "__self__", None)
    descriptor = getattr(message_class, "DESCRIPTOR", None)
    type_name = getattr(descriptor, "full_name", fallback)

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception:
            return MalformedRequest(type_name)

    return parse


Before = Callable[[str, aio.ServicerContext], Awaitable[None]]
# Runs after `before`, with the parsed request: the edge check of its values (see exchange.services.bounds).
Check = Callable[[str, Any, aio.ServicerContext], Awaitable[None]]


@dataclass(frozen=True)
class Failure:
    """The access-log entry the guard owes for an attempt nothing else logged (its caller comes from the hook)."""

    request_id: str
    decision: Decision
    reason: str
    message: str
    outcome: str


# Writes the access-log entry of an attempt the guard answered itself (the service layer supplies it).
Recorder = Callable[[str, aio.ServicerContext, Failure], Awaitable[None]]


class _Guard:
    """What guard_unary and guard_stream share: authenticate, refuse malformed input, map errors, log the rest.

    Every attempt leaves an entry: the domain writes the telling ones; when an RPC ends in an error or is
    cancelled and wrote none (a refusal nobody logged, a caller that gave up), the guard writes one. An
    unexpected error always gets its own (INTERNAL, under the incident id the caller was given): whatever
    the domain logged before it, the caller did not get that answer.
    """

    def __init__(
        self, method: str, before: Before | None, recorder: Recorder | None, check: Check | None = None
    ) -> None:
        self.method = method
        self.before = before
        self.recorder = recorder
        self.check = check

    async def enter(self, request: Any, context: aio.ServicerContext) -> None:
        if self.before is not None:
            await self.before(self.method, context)
        if isinstance(request, MalformedRequest):
            raise e.InvalidArgument(
                f"the request is not a valid {request.type_name} message", reason="REQUEST_MALFORMED"
            )
        if self.check is not None:
            await self.check(self.method, request, context)

    async def fail(self, context: aio.ServicerContext, error: Exception, attempt: Attempt) -> None:
        """Answer an error (the domain's status, or INTERNAL for anything unexpected); always raises."""
        request_id = current_request_id()
        if isinstance(error, e.ExchangeError):
            if not attempt.entries:
                await self._record(context, _failure(error, request_id, decision_for(error)))
            await context.abort_with_status(to_grpc_status(error, language_of_metadata(context.invocation_metadata())))
        log.error("unexpected error in %s (request %s)", self.method, request_id, exc_info=error)
        internal = InternalError(
            f"internal error (incident {request_id}); the hub operator finds the details in the hub log under this id",
            metadata={"request_id": request_id},
        )
        await self._record(context, _failure(internal, request_id, "deny"))
        await context.abort_with_status(to_grpc_status(internal, language_of_metadata(context.invocation_metadata())))

    async def stopped(self, context: aio.ServicerContext, attempt: Attempt) -> None:
        """The caller cancelled or its deadline passed: log it (shielded) unless the domain already did."""
        if attempt.entries or self.recorder is None:
            return
        remaining = context.time_remaining()
        expired = remaining is not None and remaining <= DEADLINE_SLACK_SECONDS
        reason = outcome = "DEADLINE_EXCEEDED" if expired else "CANCELLED"
        how = "the caller's deadline passed" if expired else "the caller cancelled the request"
        write = asyncio.ensure_future(
            self._record(context, Failure(current_request_id(), "deny", reason, how, outcome))
        )
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(write)

    async def _record(self, context: aio.ServicerContext, failure: Failure) -> None:
        if self.recorder is None:
            return
        try:
            await self.recorder(self.method, context, failure)
        except Exception as problem:  # the log unreachable: the answer still goes out, the hub log says why
            log.warning("could not log the failed %s (request %s): %s", self.method, failure.request_id, problem)


def _failure(error: e.ExchangeError, request_id: str, decision: Decision) -> Failure:
    return Failure(request_id, decision, error.reason, bounded(error.message, 500), e.status_name(error))


def guard_unary(
    method: str,
    handler: Callable[[Any, aio.ServicerContext], Awaitable[Any]],
    before: Before | None = None,
    recorder: Recorder | None = None,
    check: Check | None = None,
) -> Callable[[Any, aio.ServicerContext], Awaitable[Any]]:
    """Wrap a unary handler so every error leaves as the right status, nothing leaks, and every attempt is logged."""
    guard = _Guard(method, before, recorder, check)

    async def guarded(request: Any, context: aio.ServicerContext) -> Any:
        attempt = begin_attempt()
        try:
            await guard.enter(request, context)
            return await handler(request, context)
        except aio.AbortError:
            raise
        except asyncio.CancelledError:
            await guard.stopped(context, attempt)
            raise
        except Exception as error:
            await guard.fail(context, error, attempt)

    return guarded


def guard_stream(
    method: str,
    handler: Callable[[Any, aio.ServicerContext], AsyncIterator[Any]],
    before: Before | None = None,
    recorder: Recorder | None = None,
    check: Check | None = None,
) -> Callable[[Any, aio.ServicerContext], AsyncIterator[Any]]:
    """The same for server-streaming handlers (a stream closed early was cancelled while sending)."""
    guard = _Guard(method, before, recorder, check)

    async def guarded(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
        attempt = begin_attempt()
        stream: AsyncIterator[Any] | None = None
        try:
            await guard.enter(request, context)
            stream = handler(request, context)
            async for item in stream:
                yield item
        except aio.AbortError:
            raise
        except (asyncio.CancelledError, GeneratorExit):
            # Close the handler now (not whenever it is collected), so it logs what it had sent first.
            with contextlib.suppress(Exception):
                await _aclose(stream)
            await guard.stopped(context, attempt)
            raise
        except Exception as error:
            await guard.fail(context, error, attempt)

    return guarded


async def _aclose(stream: AsyncIterator[Any] | None) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


class ErrorMappingInterceptor(aio.ServerInterceptor):
    """Applies `guard_*` to every method of the guarded services; `before` runs first (authentication), then
    `check` with the parsed request (its values' bounds).

    The request parser is made tolerant here too, so malformed bytes reach the guard (and the log).
    """

    def __init__(
        self,
        before: Before | None = None,
        *,
        recorder: Recorder | None = None,
        check: Check | None = None,
        prefix: str = "/exchange.v1.",
    ) -> None:
        self.before = before
        self.recorder = recorder
        self.check = check
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
        parse = tolerant_deserializer(handler.request_deserializer, method.rsplit("/", 1)[-1])
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                guard_unary(method, handler.unary_unary, self.before, self.recorder, self.check),
                request_deserializer=parse,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                guard_stream(method, handler.unary_stream, self.before, self.recorder, self.check),
                request_deserializer=parse,
                response_serializer=handler.response_serializer,
            )
        return handler
