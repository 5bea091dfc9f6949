"""Every RPC the hub serves, derived from the exchange.v1 descriptors, and a way to call any of them raw."""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc import aio

import exchange.v1
from exchange.errors import ExchangeError
from exchange.status import from_rpc_error

# Adapters serve this one; the hub only calls it.
NOT_HUB_SERVICES = {"exchange.v1.ProviderService"}


def hub_methods() -> list[MethodDescriptor]:
    """Every method of every exchange.v1 service the hub serves (a new .proto is picked up by itself)."""
    methods = []
    for info in pkgutil.iter_modules(exchange.v1.__path__):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"exchange.v1.{info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            if service.full_name not in NOT_HUB_SERVICES:
                methods.extend(service.methods)
    return methods


def path_of(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


@dataclass
class Outcome:
    """What one raw call produced: the responses, or the error and its reason."""

    responses: list[Message]
    code: grpc.StatusCode = grpc.StatusCode.OK
    error: ExchangeError | None = None
    details: str = ""

    @property
    def reason(self) -> str:
        return self.error.reason if self.error else ""


async def call_raw(
    channel: aio.Channel, method: MethodDescriptor, request: Message, metadata: tuple[tuple[str, str], ...]
) -> Outcome:
    """Call any method with any request; never raises for a status."""
    output = GetMessageClass(method.output_type)
    kwargs: dict[str, Any] = {
        "request_serializer": type(request).SerializeToString,
        "response_deserializer": output.FromString,
    }
    try:
        if method.server_streaming:
            stream = channel.unary_stream(path_of(method), **kwargs)(request, metadata=metadata, timeout=10)
            return Outcome([item async for item in stream])
        return Outcome([await channel.unary_unary(path_of(method), **kwargs)(request, metadata=metadata, timeout=10)])
    except aio.AioRpcError as error:
        return Outcome([], error.code(), from_rpc_error(error), error.details() or "")


def filled_request(method: MethodDescriptor, hints: Mapping[str, Any]) -> Message:
    """The method's request with every field whose name is in `hints` set (nested messages too)."""
    request = GetMessageClass(method.input_type)()
    _fill(request, method.input_type, hints, depth=0)
    return request


def _fill(message: Message, descriptor: Descriptor, hints: Mapping[str, Any], depth: int) -> None:
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            nested = field.message_type
            if nested is not None and depth < 2 and not nested.GetOptions().map_entry and not field.is_repeated:
                _fill(getattr(message, field.name), nested, hints, depth + 1)
            continue
        if field.name not in hints:
            continue
        value = hints[field.name]
        if field.is_repeated:
            getattr(message, field.name).extend(value if isinstance(value, list) else [value])
        elif not isinstance(value, list):
            # A hint of the wrong type for this field (an enum named like a text field) is left out.
            with contextlib.suppress(TypeError, ValueError):
                setattr(message, field.name, value)
