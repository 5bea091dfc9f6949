"""The Python client department systems use instead of raw stubs.

    async with HubClient.connect("hub.example:50051", department="SAMR", officer="li.wei",
                                 key="samr-token.key", tls=ClientTLS.from_dir("pki", "SAMR")) as hub:
        licence = await hub.fetch("business_licence", "91110105MA01XXXXX1", case_id=case.id)
        print(licence.data["name"], licence.receipt.index)

Results are plain dataclasses; failures raise the error classes of `catalog.errors`
(`PermissionDenied`, `NotFound`, ...) carrying the gRPC status as `.grpc_code` and
the hub's reason code as `.reason`. Tokens are minted from the department's key and
reused on the channel until shortly before they expire.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import grpc
from grpc import aio

from catalog.errors import ExchangeError, Unauthenticated
from exchange.auth.identity import HUB_AUDIENCE_DEFAULT, Role
from exchange.auth.keys import PrivateKey, key_id, load_private_key
from exchange.auth.tokens import mint_token
from exchange.errors import from_rpc_error
from exchange.v1 import (
    access_pb2,
    access_pb2_grpc,
    audit_pb2_grpc,
    cases_pb2_grpc,
    catalog_pb2,
    catalog_pb2_grpc,
    common_pb2,
    departments_pb2,
    departments_pb2_grpc,
    exchange_pb2,
    exchange_pb2_grpc,
    items_pb2,
    items_pb2_grpc,
)

T = TypeVar("T")


@dataclass(frozen=True)
class ClientTLS:
    """mTLS material: the hub's CA and this department's client certificate."""

    ca: bytes
    cert: bytes
    key: bytes

    @classmethod
    def from_files(cls, ca: str | Path, cert: str | Path, key: str | Path) -> ClientTLS:
        return cls(Path(ca).read_bytes(), Path(cert).read_bytes(), Path(key).read_bytes())


@dataclass(frozen=True)
class Receipt:
    index: int
    leaf_hash: bytes
    origin: str


@dataclass(frozen=True)
class Provenance:
    issuer: str
    dataset: str
    dataset_version: str
    key: str
    issued_at_us: int
    kid: str
    signature: bytes
    content_digest: str
    fetched_at_us: int


@dataclass(frozen=True)
class Document:
    """A fetched document: its fields, where it came from, and the access-log receipt."""

    data: dict[str, Any]
    fields: tuple[str, ...]
    provenance: Provenance
    receipt: Receipt
    request_id: str


def receipt_from_proto(r: common_pb2.Receipt) -> Receipt:
    return Receipt(r.log_index, r.leaf_hash, r.log_origin)


def provenance_from_proto(p: common_pb2.Provenance) -> Provenance:
    return Provenance(
        p.issuer,
        p.dataset,
        p.dataset_version,
        p.key,
        p.issued_at_us,
        p.kid,
        p.signature,
        p.content_digest,
        p.fetched_at_us,
    )


def translate(error: grpc.RpcError) -> ExchangeError:
    translated = from_rpc_error(error)
    translated.grpc_code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN  # type: ignore[attr-defined]
    return translated


class HubClient:
    """An authenticated connection to the hub for one officer of one department."""

    def __init__(
        self,
        channel: aio.Channel,
        *,
        department: str,
        officer: str,
        private_key: PrivateKey,
        kid: str | None = None,
        roles: Iterable[Role | str] = (Role.OFFICER,),
        audience: str = HUB_AUDIENCE_DEFAULT,
        token_ttl: int = 300,
    ) -> None:
        self.channel = channel
        self.department = department
        self.officer = officer
        self._key = private_key
        self._kid = kid or key_id(private_key.public_key())
        self._roles = tuple(Role(r) for r in roles)
        self._audience = audience
        self._ttl = token_ttl
        self._token = ""
        self._token_expires = 0.0
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        self.departments = departments_pb2_grpc.DepartmentServiceStub(channel)
        self.items = items_pb2_grpc.ServiceItemServiceStub(channel)
        self.access = access_pb2_grpc.AccessServiceStub(channel)
        self.exchange = exchange_pb2_grpc.ExchangeServiceStub(channel)
        self.cases = cases_pb2_grpc.CaseServiceStub(channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(channel)

    @classmethod
    def connect(
        cls,
        target: str,
        *,
        department: str,
        officer: str,
        key: str | Path | bytes | PrivateKey,
        kid: str | None = None,
        roles: Iterable[Role | str] = (Role.OFFICER,),
        tls: ClientTLS | None = None,
        audience: str = HUB_AUDIENCE_DEFAULT,
        server_name: str | None = None,
        max_message_bytes: int = 64 * 1024 * 1024,
    ) -> HubClient:
        """Open a channel (TLS when `tls` is given, plain text otherwise, for dev hubs)."""
        options: list[tuple[str, Any]] = [("grpc.max_receive_message_length", max_message_bytes)]
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
        if tls is None:
            channel = aio.insecure_channel(target, options=options)
        else:
            creds = grpc.ssl_channel_credentials(tls.ca, tls.key, tls.cert)
            channel = aio.secure_channel(target, creds, options=options)
        private_key = key if not isinstance(key, str | Path | bytes) else load_private_key(key)
        return cls(
            channel,
            department=department,
            officer=officer,
            private_key=private_key,
            kid=kid,
            roles=roles,
            audience=audience,
        )

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.channel.close()

    def metadata(self, *, fresh: bool = False) -> tuple[tuple[str, str], ...]:
        """Call metadata with a token, reused until 30 s before it expires."""
        now = time.time()
        if fresh or not self._token or now > self._token_expires - 30:
            self._token = mint_token(
                self._key,
                issuer=self.department,
                kid=self._kid,
                subject=self.officer,
                roles=self._roles,
                audience=self._audience,
                ttl_seconds=self._ttl,
            )
            self._token_expires = now + self._ttl
        return (("authorization", f"Bearer {self._token}"),)

    async def call(self, method: Callable[..., Awaitable[T]], request: Any, *, timeout: float | None = 30.0) -> T:
        """Call any stub method with authentication and error translation."""
        try:
            return await method(request, metadata=self.metadata(), timeout=timeout)
        except aio.AioRpcError as error:
            translated = translate(error)
            if isinstance(translated, Unauthenticated) and translated.reason == "TOKEN_REPLAYED":
                # A reconnect gave the channel a new connection; a token belongs to one connection.
                try:
                    return await method(request, metadata=self.metadata(fresh=True), timeout=timeout)
                except aio.AioRpcError as again:
                    raise translate(again) from None
            raise translated from None

    async def stream(
        self, method: Callable[..., Any], request: Any, *, timeout: float | None = None
    ) -> AsyncIterator[Any]:
        try:
            async for item in method(request, metadata=self.metadata(), timeout=timeout):
                yield item
        except aio.AioRpcError as error:
            raise translate(error) from None

    # --- the exchange ------------------------------------------------------------------------------

    async def fetch(
        self,
        dataset: str,
        key: str,
        *,
        case_id: str,
        service_item: str = "",
        fields: Sequence[str] = (),
        request_id: str = "",
        timeout: float = 10.0,
    ) -> Document:
        """Fetch one document from its issuing department, for a case."""
        response: exchange_pb2.FetchResponse = await self.call(
            self.exchange.Fetch,
            exchange_pb2.FetchRequest(
                dataset=dataset,
                key=key,
                purpose=common_pb2.Purpose(case_id=case_id, service_item=service_item),
                fields=list(fields),
                request_id=request_id,
            ),
            timeout=timeout,
        )
        return Document(
            data=json.loads(response.document_json),
            fields=tuple(response.fields),
            provenance=provenance_from_proto(response.provenance),
            receipt=receipt_from_proto(response.receipt),
            request_id=response.request_id,
        )

    # --- registry (administrators) -----------------------------------------------------------------

    async def register_dataset(self, spec_text: str, *, dry_run: bool = False) -> catalog_pb2.RegisterDatasetResponse:
        return await self.call(
            self.catalog.RegisterDataset, catalog_pb2.RegisterDatasetRequest(spec_text=spec_text, dry_run=dry_run)
        )

    async def register_department(self, department: departments_pb2.Department) -> departments_pb2.Department:
        response: departments_pb2.RegisterDepartmentResponse = await self.call(
            self.departments.RegisterDepartment, departments_pb2.RegisterDepartmentRequest(department=department)
        )
        return response.department

    async def register_service_item(self, spec_text: str) -> items_pb2.ServiceItem:
        response: items_pb2.RegisterServiceItemResponse = await self.call(
            self.items.RegisterServiceItem, items_pb2.RegisterServiceItemRequest(spec_text=spec_text)
        )
        return response.item

    async def create_grant(
        self,
        consumer: str,
        dataset: str,
        fields: Sequence[str],
        *,
        service_items: Sequence[str] = (),
        valid_until_us: int = 0,
        rate_per_minute: int = 0,
    ) -> access_pb2.Grant:
        response: access_pb2.CreateGrantResponse = await self.call(
            self.access.CreateGrant,
            access_pb2.CreateGrantRequest(
                consumer=consumer,
                dataset=dataset,
                fields=list(fields),
                service_items=list(service_items),
                valid_until_us=valid_until_us,
                rate_per_minute=rate_per_minute,
            ),
        )
        return response.grant
