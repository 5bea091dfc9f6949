"""Copying between generated protobuf messages and plain dataclasses, field by field by name.

The client turns the hub's answers into its dataclasses and the servicers turn domain objects into
answers; both copy most fields unchanged, so neither spells them out. An enum read into a str field
becomes the word people say (CASE_STATE_UNDER_REVIEW -> "under_review"). What needs more than that (a
nested message, an enum on its way out, a value computed at the edge) is passed by name in `given`; a
field that needs it and is not given raises TypeError rather than passing a wire number or a raw message
through. What the client and the hub both send (a department) is made here once. Imports only protobuf and
the generated API: the client, the adapter SDK and the servicers may all use it.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from google.protobuf.message import Message

from exchange.v1 import departments_pb2

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from catalog.model import Department

D = TypeVar("D", bound="DataclassInstance")
M = TypeVar("M", bound=Message)


# A field descriptor: the stubs type the C (upb) and the pure-Python implementations' apart.
Field = Any


def _is_map(field: Field) -> bool:
    return field.message_type is not None and bool(field.message_type.GetOptions().map_entry)


def _copies_as_is(field: Field) -> bool:
    """A scalar, a repeated scalar or a map of scalars: copied without a word from the caller."""
    if _is_map(field):
        return all(f.enum_type is None and f.message_type is None for f in field.message_type.fields)
    return field.enum_type is None and field.message_type is None


@functools.cache
def _prefix(enum_name: str) -> str:
    """buf's ENUM_VALUE_PREFIX of an enum: GrantStatus -> GRANT_STATUS_."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum_name).upper() + "_"


def _word(enum: Any, number: int) -> str:
    """An enum value as people say it: the name without the enum's prefix (buf's ENUM_VALUE_PREFIX rule),
    in lower case: GRANT_STATUS_ACTIVE of GrantStatus -> "active"."""
    value = enum.values_by_number.get(number)
    if value is None:
        raise ValueError(f"{enum.full_name} has no value {number}")
    return str(value.name).removeprefix(_prefix(enum.name)).lower()


# How one field is copied; worked out once per pair of types (the descriptors never change), so that a
# conversion on the fetch path costs a loop over a list, not a walk of the descriptors.
_AS_IS, _WORD, _MAP, _REPEATED, _NEEDS, _ABSENT, _OPTIONAL = range(7)


@functools.cache
def _reading_plan(cls: type, descriptor: Any) -> tuple[tuple[str, int, Any], ...]:
    wire = descriptor.fields_by_name
    plan = []
    for field in dataclasses.fields(cls):
        spec = wire.get(field.name)
        if spec is None:
            required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
            plan.append((field.name, _ABSENT if required else _OPTIONAL, None))
        elif spec.enum_type is not None and not spec.is_repeated and field.type in ("str", str):
            plan.append((field.name, _WORD, spec.enum_type))
        elif not _copies_as_is(spec):
            plan.append((field.name, _NEEDS, spec.full_name))
        elif _is_map(spec):
            plan.append((field.name, _MAP, None))
        else:
            plan.append((field.name, _REPEATED if spec.is_repeated else _AS_IS, None))
    return tuple(plan)


def from_message(cls: type[D], message: Message, **given: Any) -> D:
    """A `cls` whose fields are copied from the message's fields of the same names (repeated fields as
    tuples, maps as dicts, an enum into a str field as its word), except those in `given`."""
    values: dict[str, Any] = {}
    for name, how, about in _reading_plan(cls, message.DESCRIPTOR):
        if name in given:
            values[name] = given[name]
        elif how == _AS_IS:
            values[name] = getattr(message, name)
        elif how == _REPEATED:
            values[name] = tuple(getattr(message, name))
        elif how == _WORD:
            values[name] = _word(about, getattr(message, name))
        elif how == _MAP:
            values[name] = dict(getattr(message, name))
        elif how == _NEEDS:
            raise TypeError(f"{cls.__name__}.{name} needs a conversion from {about}: give it")
        elif how == _ABSENT:
            raise TypeError(f"{message.DESCRIPTOR.full_name} has no field {name} for {cls.__name__}")
    unknown = given.keys() - values.keys()
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
    return cls(**values)


@functools.cache
def _writing_plan(descriptor: Any) -> tuple[tuple[str, int, Any], ...]:
    plan = []
    for spec in descriptor.fields:
        if not _copies_as_is(spec):
            plan.append((spec.name, _NEEDS, spec.full_name))
        else:
            plan.append((spec.name, _MAP if _is_map(spec) else _REPEATED if spec.is_repeated else _AS_IS, None))
    return tuple(plan)


def to_message(message_type: type[M], source: object, **given: Any) -> M:
    """A `message_type` whose fields are copied from the attributes of `source` with the same names
    (sequences as lists), except those in `given`; fields `source` lacks stay unset."""
    values: dict[str, Any] = {}
    for name, how, about in _writing_plan(message_type.DESCRIPTOR):
        if name in given:
            values[name] = given[name]
            continue
        if not hasattr(source, name):
            continue
        if how == _NEEDS:
            raise TypeError(f"{about} needs a conversion from {type(source).__name__}.{name}: give it")
        value = getattr(source, name)
        if how == _MAP:
            value = dict(value)
        elif how == _REPEATED and isinstance(value, Sequence) and not isinstance(value, str | bytes):
            value = list(value)
        values[name] = value
    unknown = given.keys() - values.keys()
    if unknown:
        raise TypeError(f"{message_type.DESCRIPTOR.full_name} has no field {', '.join(sorted(unknown))}")
    return message_type(**values)


def enum_text(enum: Any, value: int) -> str:
    """A value of a generated enum (access_pb2.GrantStatus) as people say it: GRANT_STATUS_ACTIVE -> "active"."""
    return _word(enum.DESCRIPTOR, value)


# --- what the client and the hub both send -------------------------------------------------------------


def department_to_proto(d: Department) -> departments_pb2.Department:
    """A department (catalog.model): the client's RegisterDepartment and the registry's answers alike."""
    return to_message(
        departments_pb2.Department,
        d,
        level=departments_pb2.AdminLevel.Value(f"ADMIN_LEVEL_{d.level.value.upper()}"),
        status=departments_pb2.DepartmentStatus.Value(f"DEPARTMENT_STATUS_{d.status.value.upper()}"),
        adapter_endpoint=d.adapter_endpoint or "",
        keys=[key_to_proto(k.kid, k.use.value, k.algorithm, k.public_key_pem, k.status.value) for k in d.keys],
    )


def key_to_proto(
    kid: str, use: str, algorithm: str, public_key_pem: str, status: str = "active"
) -> departments_pb2.DepartmentKey:
    return departments_pb2.DepartmentKey(
        kid=kid,
        use=departments_pb2.KeyUse.Value(f"KEY_USE_{use.upper()}"),
        algorithm=algorithm,
        public_key_pem=public_key_pem,
        status=departments_pb2.KeyStatus.Value(f"KEY_STATUS_{status.upper()}"),
    )
