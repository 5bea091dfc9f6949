"""The fuzz targets: one function per parser, each `(data: bytes) -> None`, raising only allowed errors."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from functools import cache

import pyarrow as pa
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf import message_factory
from google.protobuf.message import DecodeError, Message

from adapters.signing import SignedDocument, canonical_json, verify_document
from adapters.sources.filters import parse_filter, to_arrow_expression, to_sql
from catalog.identifiers import KeyFormat, validate_key
from exchange.app.parsing import parse_page_token
from exchange.auth.keys import generate_ed25519, load_public_key
from exchange.auth.tokens import TokenVerifier, TrustedKey
from exchange.errors import ExchangeError
from exchange.services.convert import keyset_page, page_bounds
from exchange.v1 import (
    access_pb2,
    audit_pb2,
    cases_pb2,
    catalog_pb2,
    common_pb2,
    departments_pb2,
    exchange_pb2,
    items_pb2,
)

Target = Callable[[bytes], None]
ALLOWED: tuple[type[BaseException], ...] = (ExchangeError,)
PEER = "ipv4:127.0.0.1:1"


def _text(data: bytes) -> str:
    """Bytes as a caller's string would arrive: UTF-8, with undecodable bytes replaced."""
    return data.decode("utf-8", errors="replace")


@cache
def _verifier() -> TokenVerifier:
    """A token verifier that knows one real key (kid 'k1' of department 'SAMR')."""
    trusted = TrustedKey("SAMR", "k1", "EdDSA", generate_ed25519().public_key(), True)

    def lookup(department: str, kid: str) -> TrustedKey | None:
        return trusted if (department, kid) == ("SAMR", "k1") else None

    return TokenVerifier("exchange-hub", lookup, replay_capacity=1000)


def token(data: bytes) -> None:
    """A bearer token as sent in metadata: anything a caller can put there."""
    _verifier().verify(_text(data), peer=PEER, cert_department="SAMR")


def token_parts(data: bytes) -> None:
    """A token whose header and payload are the fuzzer's bytes, so the claim checks themselves are reached."""
    half = len(data) // 2
    segments = [base64.urlsafe_b64encode(part).rstrip(b"=").decode() for part in (data[:half], data[half:])]
    _verifier().verify(".".join([*segments, "c2ln"]), peer=PEER, cert_department="SAMR")


def public_key(data: bytes) -> None:
    """A department's public key as registered (PEM text)."""
    load_public_key(data)


def identifier(data: bytes) -> None:
    """Every identifier format the catalog validates (the first byte chooses the format)."""
    if data:
        formats = list(KeyFormat)
        validate_key(formats[data[0] % len(formats)], _text(data[1:]))


FILTER_SCHEMA = pa.schema(
    [
        ("uscc", pa.string()),
        ("capital", pa.int64()),
        ("ratio", pa.float64()),
        ("founded", pa.date32()),
        ("active", pa.bool_()),
        ("small", pa.uint8()),
    ]
)
FILTER_TABLE = sa.Table("t", sa.MetaData(), *(sa.Column(name, sa.String) for name in FILTER_SCHEMA.names))


def scan_filter(data: bytes) -> None:
    """A Scan request's row filter, parsed and checked against a schema, then compiled both ways."""
    parsed = parse_filter(_text(data), FILTER_SCHEMA)
    to_arrow_expression(parsed)
    to_sql(parsed, FILTER_TABLE)


def page_token(data: bytes) -> None:
    """The page tokens (and sizes) of every List/Query RPC; the first two bytes are the page size."""
    size = int.from_bytes(data[:2], "big") - 100 if len(data) >= 2 else 0
    request = common_pb2.PageRequest(page_token=_text(data[2:]), page_size=size)
    parse_page_token(request.page_token)
    for parse in (keyset_page, page_bounds):
        parse(request)


@cache
def _request_types() -> tuple[type[Message], ...]:
    """Every request message of the hub's services, from the generated descriptors."""
    modules = (access_pb2, audit_pb2, cases_pb2, catalog_pb2, departments_pb2, exchange_pb2, items_pb2)
    return tuple(
        message_factory.GetMessageClass(method.input_type)
        for module in modules
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    )


def request(data: bytes) -> None:
    """Request bytes as the gRPC layer receives them (the first byte chooses the message type)."""
    if data:
        types = _request_types()
        with contextlib.suppress(DecodeError):
            types[data[0] % len(types)].FromString(data[1:])


@cache
def _issuer_key() -> Ed25519PublicKey:
    return generate_ed25519().public_key()


def signed_document(data: bytes) -> None:
    """Document bytes an adapter claims to have signed: garbage must be refused as DataLoss, not crash."""
    doc = SignedDocument("business_licence", "1.0.0", "K", "SAMR", 1, data, "k1", bytes(64))
    verify_document(doc, lambda issuer, kid: _issuer_key() if (issuer, kid) == ("SAMR", "k1") else None)


def json_document(data: bytes) -> None:
    """Canonical JSON encoding of whatever JSON value a source hands the adapter."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return
    canonical_json(value)


TARGETS: dict[str, Target] = {
    "token": token,
    "token_parts": token_parts,
    "public_key": public_key,
    "identifier": identifier,
    "scan_filter": scan_filter,
    "page_token": page_token,
    "request": request,
    "signed_document": signed_document,
    "json_document": json_document,
}


def run(name: str, data: bytes) -> None:
    """Run one target on one input; an error outside ALLOWED propagates (that is the finding)."""
    with contextlib.suppress(*ALLOWED):
        TARGETS[name](data)
