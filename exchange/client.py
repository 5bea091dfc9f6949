"""The Python client department systems use instead of raw stubs.

    tls = ClientTLS.from_files("ca.pem", "SAMR.pem", "SAMR.key")
    async with HubClient.connect("hub.example:50051", department="SAMR", officer="li.wei",
                                 key="samr-token.key", tls=tls) as hub:
        licence = await hub.fetch("business_licence", "91110105MA01XXXXX1", case_id=case.id)
        print(licence.data["name"], licence.receipt.index)

Results are plain dataclasses (docs/api.md, "The Python client"), never protobuf; failures raise
the error classes of `exchange.errors` (`PermissionDenied`, `NotFound`, ...) carrying the gRPC status
as `.grpc_code` and the hub's reason code as `.reason`. Tokens are minted from the department's key and
reused on the channel until shortly before they expire.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import grpc
import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from grpc import aio

from adapters.bulk import (
    DigestChain,
    VerifiedManifest,
    chain_broken,
    manifest_missing,
    schema_fingerprint,
    verify_manifest,
)
from adapters.ipc import read_batch, read_schema, split_chained_response
from catalog.model import Department
from exchange.audit.bundle import EvidenceBundle
from exchange.audit.note import NoteVerifier
from exchange.audit.receipt import Receipt
from exchange.auth.held_roles import DepartmentRoles, parse_roles
from exchange.auth.identity import HUB_AUDIENCE_DEFAULT, Role
from exchange.auth.keys import PrivateKey, key_id, load_private_key
from exchange.auth.tokens import mint_token
from exchange.client_access import (
    AccessDecision,
    AccessRequest,
    Explanation,
    Grant,
    access_request_from_proto,
    access_request_status_to_proto,
    explanation_from_proto,
    grant_from_proto,
)
from exchange.client_audit import (
    CheckpointInfo,
    HiddenAccesses,
    LogPage,
    SubjectReport,
    checkpoint_from_proto,
    decision_to_proto,
    entry_from_proto,
    subject_report_from_proto,
)
from exchange.client_cases import (
    AnnotatedCopyInfo,
    CaseInfo,
    MaterialInfo,
    PartyInfo,
    SavingsInfo,
    case_from_proto,
    material_from_proto,
    party_to_proto,
    provenance_from_proto,
    receipt_from_proto,
    savings_from_proto,
)
from exchange.client_notify import (
    CaseFlag,
    DeadLetter,
    EventInfo,
    Webhook,
    WebhookSet,
    case_flag_from_proto,
    dead_letter_from_proto,
    event_from_proto,
    webhook_from_proto,
)
from exchange.client_registry import (
    DatasetInfo,
    DatasetRegistration,
    DepartmentInfo,
    ServiceItemInfo,
    dataset_from_proto,
    department_from_proto,
    service_item_from_proto,
)
from exchange.client_stubs import Stubs
from exchange.client_supervision import (
    CaseWarningInfo,
    EscalationInfo,
    Figures,
    SupervisionReport,
    figures_from_proto,
    report_from_proto,
)
from exchange.client_tickets import Ticket, ticket_from_proto
from exchange.errors import DataLoss, ExchangeError, InvalidArgument, Unauthenticated
from exchange.provenance import Provenance
from exchange.served_document import (
    DocumentCheck,
    fetch_response_json,
    issuer_key_from,
    load_fetch_response,
    verify_fetch_response,
)
from exchange.status import from_rpc_error
from exchange.v1 import (
    access_pb2,
    audit_pb2,
    cases_pb2,
    catalog_pb2,
    common_pb2,
    departments_pb2,
    exchange_pb2,
    items_pb2,
    notifications_pb2,
    supervision_pb2,
    tickets_pb2,
)
from exchange.webhook_signature import WebhookReplayed, WebhookSignatureInvalid, verify_webhook
from exchange.wire import department_to_proto, from_message, key_to_proto

# A department system's check of a webhook delivery (signature, time window, replay): exchange.webhook_signature.
__all__ = ["HubClient", "WebhookReplayed", "WebhookSignatureInvalid", "verify_webhook"]

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
class Document:
    """A fetched document: its fields, where it came from, and the access-log receipt."""

    data: dict[str, Any]
    fields: tuple[str, ...]
    provenance: Provenance
    receipt: Receipt
    request_id: str
    # The response as served: what `save` writes and `verify_document` checks.
    response: exchange_pb2.FetchResponse | None = field(default=None, repr=False, compare=False)

    def save(self, path: str | Path) -> None:
        """Write the served response as JSON, for `exchange verify document FILE` or `verify_document`."""
        if self.response is None:
            raise ValueError("this Document was not built from a FetchResponse; nothing to save")
        Path(path).write_text(fetch_response_json(self.response), encoding="utf-8")


def verify_document(
    served: Document | exchange_pb2.FetchResponse | str | Path,
    issuer_key: Ed25519PublicKey | str | bytes | Path,
    *,
    bundle: EvidenceBundle | str | Path | None = None,
    log_key: NoteVerifier | str | None = None,
) -> DocumentCheck:
    """Verify a served document offline: each returned field against the issuer's signed envelope and the
    issuer's public key (PEM, or a file holding it), and with an evidence bundle and the hub's log key
    (``name+id+base64``), that the access serving it is in the log. DataLoss naming the field if it fails.
    """
    if isinstance(served, Document):
        if served.response is None:
            raise ValueError("this Document was not built from a FetchResponse; verify the saved response")
        response = served.response
    elif isinstance(served, exchange_pb2.FetchResponse):
        response = served
    else:
        response = load_fetch_response(served)
    if isinstance(issuer_key, Path) or (isinstance(issuer_key, str) and "BEGIN" not in issuer_key):
        issuer_key = Path(issuer_key).read_bytes()
    key = issuer_key if isinstance(issuer_key, Ed25519PublicKey) else issuer_key_from(issuer_key)
    if isinstance(bundle, str | Path):
        bundle = EvidenceBundle.from_text(Path(bundle).read_text(encoding="utf-8"))
    if isinstance(log_key, str):
        log_key = NoteVerifier.from_vkey(log_key)
    return verify_fetch_response(response, key, bundle=bundle, log_key=log_key)


def department_roles_from_proto(msg: departments_pb2.DepartmentRoles) -> DepartmentRoles:
    return DepartmentRoles(
        department=msg.department,
        roles=parse_roles(msg.roles),
        is_default=msg.is_default,
        officers={o.officer_id: parse_roles(o.roles) for o in msg.officers},
    )


def translate(error: grpc.RpcError) -> ExchangeError:
    translated = from_rpc_error(error)
    translated.grpc_code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    return translated


def _channel_target(target: str | Sequence[str]) -> tuple[str, bool]:
    """The gRPC target for one address or several replicas, and whether to balance calls over them."""
    if isinstance(target, str):
        return target, target.startswith("dns:")
    addresses = list(target)
    if len(addresses) == 1:
        return addresses[0], False
    hosts = [address.rsplit(":", 1)[0].strip("[]") for address in addresses]
    try:
        families = {ipaddress.ip_address(host).version for host in hosts}
    except ValueError:
        raise InvalidArgument(
            "a list of replicas must name them by IP:PORT; for host names use one dns:///NAME:PORT target "
            "whose name resolves to every replica",
            reason="CLIENT_TARGET_INVALID",
        ) from None
    if len(families) != 1:
        raise InvalidArgument("list replicas of one address family (IPv4 or IPv6)", reason="CLIENT_TARGET_INVALID")
    return f"ipv{families.pop()}:{','.join(addresses)}", True


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
        language: str = "",
    ) -> None:
        self.channel = channel
        # Sent as accept-language: errors then carry a google.rpc.LocalizedMessage in it (`.localized_message`).
        self.language = language
        self.department = department
        self.officer = officer
        self._key = private_key
        self._kid = kid or key_id(private_key.public_key())
        self._roles = tuple(Role(r) for r in roles)
        self._audience = audience
        self._ttl = token_ttl
        self._token = ""
        self._token_expires = 0.0
        self.last_scan_receipt: Receipt | None = None
        # The issuer's verified closing manifest of the last scan (None while unsigned or unfinished).
        self.last_scan_manifest: VerifiedManifest | None = None
        # The generated stubs are private: callers use the typed methods below, which return dataclasses.
        self._stubs = Stubs(channel)
        self._scan_responses: aio.UnaryStreamMultiCallable[exchange_pb2.ScanRequest, bytes] = channel.unary_stream(
            "/exchange.v1.ExchangeService/Scan", request_serializer=exchange_pb2.ScanRequest.SerializeToString
        )

    @classmethod
    def connect(
        cls,
        target: str | Sequence[str],
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
        language: str = "",
    ) -> HubClient:
        """Open a channel (TLS when `tls` is given, plain text otherwise, for dev hubs).

        `target` is one address (a hub, or the load balancer in front of replicas), a `dns:///NAME:PORT` that
        resolves to several replicas, or a list of `IP:PORT` replicas; with several, calls are spread over
        them round robin and a replica that is down is skipped.
        `language` ("zh-CN", "en"): the language of the LocalizedMessage errors carry; default English.
        """
        if not isinstance(target, str) and len(target) > 1 and not server_name:
            # One name for the certificate check of every replica (they share the hub's server certificate).
            server_name = target[0].rsplit(":", 1)[0].strip("[]")
        target, balanced = _channel_target(target)
        options: list[tuple[str, Any]] = [("grpc.max_receive_message_length", max_message_bytes)]
        if balanced:
            options.append(("grpc.lb_policy_name", "round_robin"))
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
            language=language,
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
        if self.language:
            return (("authorization", f"Bearer {self._token}"), ("accept-language", self.language))
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

    async def _all_pages(self, method: Callable[..., Awaitable[Any]], request: Any, field: str) -> list[Any]:
        """Every item of a paged list: the request is repeated with each next_page_token until there is none."""
        found: list[Any] = []
        while True:
            response = await self.call(method, request)
            found.extend(getattr(response, field))
            if not response.page.next_page_token:
                return found
            request.page.page_token = response.page.next_page_token

    # --- notifications -------------------------------------------------------------------------------

    async def subscribe(self, *, kinds: Sequence[str] = (), after_event_id: int = 0) -> AsyncIterator[EventInfo]:
        """The department's events after `after_event_id`, then new ones as they happen (resume with the last id)."""
        request = notifications_pb2.SubscribeRequest(kinds=list(kinds), after_event_id=after_event_id)
        async for response in self.stream(self._stubs.notifications.Subscribe, request):
            yield event_from_proto(response.event)

    async def set_webhook(
        self,
        url: str,
        *,
        scheme: str = "hmac-sha256",
        secret: str = "",
        kinds: Sequence[str] = (),
        department: str = "",
    ) -> WebhookSet:
        """Send the department's events to url, signed (the result carries a secret the hub made, once)."""
        request = notifications_pb2.SetWebhookRequest(
            department=department, url=url, scheme=scheme, secret=secret, kinds=list(kinds)
        )
        response = await self.call(self._stubs.notifications.SetWebhook, request)
        return WebhookSet(webhook_from_proto(response.webhook), response.secret)

    async def get_webhook(self, department: str = "") -> Webhook | None:
        """The department's webhook (yours by default), or None when none is set."""
        response = await self.call(
            self._stubs.notifications.GetWebhook, notifications_pb2.GetWebhookRequest(department=department)
        )
        return webhook_from_proto(response.webhook) if response.found else None

    async def delete_webhook(self, department: str = "") -> bool:
        """Stop sending events (pending deliveries become dead letters); False when none was set."""
        response = await self.call(
            self._stubs.notifications.DeleteWebhook, notifications_pb2.DeleteWebhookRequest(department=department)
        )
        return response.deleted

    async def list_dead_letters(self, department: str = "") -> list[DeadLetter]:
        response = await self.call(
            self._stubs.notifications.ListDeadLetters, notifications_pb2.ListDeadLettersRequest(department=department)
        )
        return [dead_letter_from_proto(d) for d in response.dead_letters]

    async def redrive_dead_letters(self, event_ids: Sequence[int] = (), department: str = "") -> list[int]:
        request = notifications_pb2.RedriveDeadLettersRequest(department=department, event_ids=list(event_ids))
        return list((await self.call(self._stubs.notifications.RedriveDeadLetters, request)).event_ids)

    async def list_case_flags(self, case_id: str = "") -> list[CaseFlag]:
        request = notifications_pb2.ListCaseFlagsRequest(case_id=case_id)
        response = await self.call(self._stubs.notifications.ListCaseFlags, request)
        return [case_flag_from_proto(f) for f in response.flags]

    # --- grants and access requests ----------------------------------------------------------------

    async def create_grant(
        self,
        consumer: str,
        dataset: str,
        fields: Sequence[str],
        *,
        service_items: Sequence[str] = (),
        valid_from_us: int = 0,
        valid_until_us: int = 0,
        rate_per_minute: int = 0,
    ) -> Grant:
        """Grant an unconditional dataset (the owner's department admin or a hub admin)."""
        response = await self.call(
            self._stubs.access.CreateGrant,
            access_pb2.CreateGrantRequest(
                consumer=consumer,
                dataset=dataset,
                fields=list(fields),
                service_items=list(service_items),
                valid_from_us=valid_from_us,
                valid_until_us=valid_until_us,
                rate_per_minute=rate_per_minute,
            ),
        )
        return grant_from_proto(response.grant)

    async def get_grant(self, grant_id: str) -> Grant:
        response = await self.call(self._stubs.access.GetGrant, access_pb2.GetGrantRequest(id=grant_id))
        return grant_from_proto(response.grant)

    async def list_grants(
        self, *, consumer: str = "", dataset: str = "", include_inactive: bool = False, page_size: int = 500
    ) -> list[Grant]:
        """Grants you may see (department admins: their own and those on their datasets)."""
        request = access_pb2.ListGrantsRequest(
            consumer=consumer,
            dataset=dataset,
            include_inactive=include_inactive,
            page=common_pb2.PageRequest(page_size=page_size),
        )
        found = await self._all_pages(self._stubs.access.ListGrants, request, "grants")
        return [grant_from_proto(x) for x in found]

    async def revoke_grant(self, grant_id: str, *, reason: str) -> Grant:
        """Revoke a grant; it stops working on the next request on every hub replica."""
        response = await self.call(
            self._stubs.access.RevokeGrant, access_pb2.RevokeGrantRequest(id=grant_id, reason=reason)
        )
        return grant_from_proto(response.grant)

    async def create_access_request(
        self,
        dataset: str,
        fields: Sequence[str],
        service_items: Sequence[str],
        *,
        legal_basis: str,
        justification: str,
        valid_until_us: int = 0,
        rate_per_minute: int = 0,
    ) -> AccessRequest:
        """Ask the owner of a conditional dataset for a grant, for your department."""
        response = await self.call(
            self._stubs.access.CreateAccessRequest,
            access_pb2.CreateAccessRequestRequest(
                dataset=dataset,
                fields=list(fields),
                service_items=list(service_items),
                legal_basis=legal_basis,
                justification=justification,
                valid_until_us=valid_until_us,
                rate_per_minute=rate_per_minute,
            ),
        )
        return access_request_from_proto(response.request)

    async def get_access_request(self, request_id: str) -> AccessRequest:
        response = await self.call(
            self._stubs.access.GetAccessRequest, access_pb2.GetAccessRequestRequest(id=request_id)
        )
        return access_request_from_proto(response.request)

    async def list_access_requests(
        self,
        *,
        owner: str = "",
        consumer: str = "",
        status: str = "",
        overdue_only: bool = False,
        page_size: int = 500,
    ) -> list[AccessRequest]:
        """Access requests you may see: `owner` for a department's inbox, `consumer` for what it asked;
        `status` "pending", "approved", "denied" or "withdrawn" (empty: any)."""
        request = access_pb2.ListAccessRequestsRequest(
            owner=owner,
            consumer=consumer,
            status=access_request_status_to_proto(status),
            overdue_only=overdue_only,
            page=common_pb2.PageRequest(page_size=page_size),
        )
        found = await self._all_pages(self._stubs.access.ListAccessRequests, request, "requests")
        return [access_request_from_proto(x) for x in found]

    async def decide_access_request(self, request_id: str, *, approve: bool, reason: str = "") -> AccessDecision:
        """Approve (creating the grant) or deny (a reason is required) a request for your dataset."""
        response = await self.call(
            self._stubs.access.DecideAccessRequest,
            access_pb2.DecideAccessRequestRequest(id=request_id, approve=approve, reason=reason),
        )
        grant = grant_from_proto(response.grant) if response.HasField("grant") else None
        return AccessDecision(access_request_from_proto(response.request), grant)

    async def explain_access(
        self, dataset: str, *, case_id: str, department: str = "", fields: Sequence[str] = ()
    ) -> Explanation:
        """Would `department` (default: yours) be allowed to fetch `dataset` for the case, and if not, why?"""
        response = await self.call(
            self._stubs.access.ExplainAccess,
            access_pb2.ExplainAccessRequest(
                department=department or self.department,
                dataset=dataset,
                purpose=common_pb2.Purpose(case_id=case_id),
                fields=list(fields),
            ),
        )
        return explanation_from_proto(response)

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
        response = await self.call(
            self._stubs.exchange.Fetch,
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
            response=response,
        )

    async def scan(
        self,
        dataset: str,
        *,
        case_id: str,
        columns: Sequence[str] = (),
        row_filter: str = "",
        batch_rows: int = 0,
        service_item: str = "",
        request_id: str = "",
        issuer_key: str | bytes | Ed25519PublicKey | None = None,
        require_signed: bool = False,
    ) -> AsyncIterator[pa.RecordBatch]:
        """Stream a table dataset as Arrow record batches (the scan is logged before the first row).

        Each batch is checked to follow from the one before in the issuer's digest chain, and the issuer's
        closing manifest is verified at the end against issuer_key (a PEM or key), or else the signing key
        the hub's registry lists for the manifest's kid; `last_scan_manifest` then holds it. Rows are
        confirmed only when the iteration ends without an error. require_signed refuses a stream without
        links or manifest (DataLoss SCAN_CHAIN_BROKEN / SCAN_MANIFEST_MISSING) instead of passing it.
        """
        request = exchange_pb2.ScanRequest(
            dataset=dataset,
            columns=list(columns),
            filter=row_filter,
            purpose=common_pb2.Purpose(case_id=case_id, service_item=service_item),
            batch_rows=batch_rows,
            request_id=request_id,
        )
        what = f"the hub's scan of {dataset}"
        schema: pa.Schema | None = None
        chain = DigestChain(None, what)
        unsigned = 0
        self.last_scan_manifest = None
        # Responses arrive undecoded: each batch is read in place from the received bytes, not copied out
        # of a parsed message; a response that is more than a batch, its row count and link is parsed in full.
        async for encoded in self.stream(self._scan_responses, request):
            message: memoryview | None = None
            link: memoryview | bytes = b""
            if schema is not None:
                with contextlib.suppress(DataLoss):
                    _, message, link = split_chained_response(encoded, what)
            if message is None:
                response = exchange_pb2.ScanResponse.FromString(encoded)
                if response.arrow_schema:
                    schema = read_schema(response.arrow_schema, what)
                    self.last_scan_receipt = receipt_from_proto(response.receipt)
                if response.manifest_json and schema is not None:
                    expected = {"dataset": dataset, "filter": row_filter, "columns": schema.names}
                    expected |= {"schema_sha256": schema_fingerprint(schema)}
                    if request_id:
                        expected["request_id"] = request_id
                    keys = await self._manifest_keys(response.manifest_json, issuer_key)
                    self.last_scan_manifest = verify_manifest(
                        response.manifest_json, response.manifest_signature, chain, keys, expected
                    )
                    continue
                message, link = memoryview(response.arrow_batch), response.chain
            if message and schema is not None:
                batch = read_batch(message, schema, what)
                if link:
                    chain.check(message, batch.num_rows, link)
                elif require_signed:
                    raise chain_broken(what, f"batch {chain.batches + unsigned + 1} carries no chain link")
                else:
                    unsigned += 1
                yield batch
        if self.last_scan_manifest is None and require_signed:
            raise manifest_missing(what, chain.batches, chain.rows)

    async def _manifest_keys(
        self, manifest: bytes, issuer_key: str | bytes | Ed25519PublicKey | None
    ) -> Callable[[str, str], Ed25519PublicKey | None]:
        """The key lookup for a scan manifest: the key given, or the issuer's signing keys in the hub's registry."""
        if issuer_key is not None:
            key = issuer_key if isinstance(issuer_key, Ed25519PublicKey) else issuer_key_from(issuer_key)
            return lambda _issuer, kid: key if key_id(key) == kid else None
        try:
            issuer = json.loads(manifest).get("issuer", "")
        except (ValueError, AttributeError):
            return lambda _issuer, _kid: None  # verify_manifest names what is wrong with it
        if not isinstance(issuer, str) or not issuer:
            return lambda _issuer, _kid: None
        found = await self.call(
            self._stubs.departments.GetDepartment, departments_pb2.GetDepartmentRequest(code=issuer)
        )
        registered = {
            k.kid: issuer_key_from(k.public_key_pem)
            for k in found.department.keys
            if k.use == departments_pb2.KEY_USE_SIGNING
        }
        return lambda who, kid: registered.get(kid) if who == issuer else None

    async def scan_table(self, dataset: str, *, case_id: str, **options: Any) -> pa.Table:
        """A whole (small) table in memory; use `scan` for large ones."""
        batches = [batch async for batch in self.scan(dataset, case_id=case_id, **options)]
        return pa.Table.from_batches(batches) if batches else pa.table({})

    # --- registry (administrators) -----------------------------------------------------------------

    async def register_dataset(self, spec_text: str, *, dry_run: bool = False) -> DatasetRegistration:
        """Register a dataset (or a new version) from a YAML/JSON spec; `dry_run` stores nothing."""
        response = await self.call(
            self._stubs.catalog.RegisterDataset,
            catalog_pb2.RegisterDatasetRequest(spec_text=spec_text, dry_run=dry_run),
        )
        return DatasetRegistration(dataset_from_proto(response.dataset), response.outcome, tuple(response.changes))

    async def get_dataset(self, code: str, *, version: str = "") -> DatasetInfo:
        """One dataset (its current version, or `version`) with its schema."""
        response = await self.call(
            self._stubs.catalog.GetDataset, catalog_pb2.GetDatasetRequest(code=code, version=version)
        )
        return dataset_from_proto(response.dataset)

    async def list_datasets(self, *, owner: str = "", page_size: int = 500) -> list[DatasetInfo]:
        """The current version of every dataset (of `owner` only, when given)."""
        found = await self._all_pages(
            self._stubs.catalog.ListDatasets,
            catalog_pb2.ListDatasetsRequest(owner=owner, page=common_pb2.PageRequest(page_size=page_size)),
            "datasets",
        )
        return [dataset_from_proto(x) for x in found]

    async def search_datasets(self, query: str, *, page_size: int = 500) -> list[DatasetInfo]:
        """Datasets whose title, description, theme or keywords match the words of `query`."""
        found = await self._all_pages(
            self._stubs.catalog.SearchDatasets,
            catalog_pb2.SearchDatasetsRequest(query=query, page=common_pb2.PageRequest(page_size=page_size)),
            "datasets",
        )
        return [dataset_from_proto(x) for x in found]

    async def set_dataset_status(self, code: str, status: str) -> DatasetInfo:
        """ "published", "deprecated" (still served to existing grants) or "draft" (served to nobody)."""
        response = await self.call(
            self._stubs.catalog.SetDatasetStatus,
            catalog_pb2.SetDatasetStatusRequest(
                code=code, status=catalog_pb2.DatasetStatus.Value(f"DATASET_STATUS_{status.upper()}")
            ),
        )
        return dataset_from_proto(response.dataset)

    async def register_department(self, department: Department) -> DepartmentInfo:
        """Register a department (a catalog.model.Department, as parse_department reads a spec), keys included."""
        response = await self.call(
            self._stubs.departments.RegisterDepartment,
            departments_pb2.RegisterDepartmentRequest(department=department_to_proto(department)),
        )
        return department_from_proto(response.department)

    async def get_department(self, code: str) -> DepartmentInfo:
        response = await self.call(
            self._stubs.departments.GetDepartment, departments_pb2.GetDepartmentRequest(code=code)
        )
        return department_from_proto(response.department)

    async def list_departments(self, *, page_size: int = 500) -> list[DepartmentInfo]:
        found = await self._all_pages(
            self._stubs.departments.ListDepartments,
            departments_pb2.ListDepartmentsRequest(page=common_pb2.PageRequest(page_size=page_size)),
            "departments",
        )
        return [department_from_proto(x) for x in found]

    async def add_department_key(
        self, department: str, *, kid: str, use: str, algorithm: str, public_key_pem: str
    ) -> DepartmentInfo:
        """Add a public key ("token" or "signing") to a department; both keys then verify until one is retired."""
        response = await self.call(
            self._stubs.departments.AddDepartmentKey,
            departments_pb2.AddDepartmentKeyRequest(
                department=department, key=key_to_proto(kid, use, algorithm, public_key_pem)
            ),
        )
        return department_from_proto(response.department)

    async def retire_department_key(self, department: str, kid: str) -> DepartmentInfo:
        response = await self.call(
            self._stubs.departments.RetireDepartmentKey,
            departments_pb2.RetireDepartmentKeyRequest(department=department, kid=kid),
        )
        return department_from_proto(response.department)

    async def set_department_status(self, code: str, status: str, *, reason: str = "") -> DepartmentInfo:
        """ "suspended" (its calls are refused) or "active"; hub admins only."""
        response = await self.call(
            self._stubs.departments.SetDepartmentStatus,
            departments_pb2.SetDepartmentStatusRequest(
                code=code,
                status=departments_pb2.DepartmentStatus.Value(f"DEPARTMENT_STATUS_{status.upper()}"),
                reason=reason,
            ),
        )
        return department_from_proto(response.department)

    async def get_department_roles(self, code: str) -> DepartmentRoles:
        """The roles the hub holds for a department and for single officers of it."""
        response = await self.call(
            self._stubs.departments.GetDepartmentRoles, departments_pb2.GetDepartmentRolesRequest(code=code)
        )
        return department_roles_from_proto(response.roles)

    async def set_department_roles(
        self,
        code: str,
        roles: Iterable[Role | str] = (),
        *,
        officer_id: str = "",
        reset: bool = False,
        reason: str = "",
    ) -> DepartmentRoles:
        """Record the roles of a department (or of one officer); `reset` returns to the default. Hub admins only."""
        request = departments_pb2.SetDepartmentRolesRequest(
            code=code,
            officer_id=officer_id,
            roles=sorted(str(r) for r in roles),
            reset=reset,
            reason=reason,
        )
        response = await self.call(self._stubs.departments.SetDepartmentRoles, request)
        return department_roles_from_proto(response.roles)

    async def register_service_item(self, spec_text: str) -> ServiceItemInfo:
        """Register a service item from a YAML/JSON spec."""
        response = await self.call(
            self._stubs.items.RegisterServiceItem, items_pb2.RegisterServiceItemRequest(spec_text=spec_text)
        )
        return service_item_from_proto(response.item)

    async def get_service_item(self, code: str) -> ServiceItemInfo:
        response = await self.call(self._stubs.items.GetServiceItem, items_pb2.GetServiceItemRequest(code=code))
        return service_item_from_proto(response.item)

    async def list_service_items(
        self, *, department: str = "", national_code: str = "", page_size: int = 500
    ) -> list[ServiceItemInfo]:
        """Service items (only those `department` leads or co-reviews, when given; only those whose basic or
        implementation code, 基本编码 or 实施编码, is `national_code`, when given)."""
        request = items_pb2.ListServiceItemsRequest(
            department=department, national_code=national_code, page=common_pb2.PageRequest(page_size=page_size)
        )
        found = await self._all_pages(self._stubs.items.ListServiceItems, request, "items")
        return [service_item_from_proto(x) for x in found]

    # --- the access log (auditors, hub admins; citizens' reports) ---------------------------------

    async def query_entries(
        self,
        *,
        from_us: int = 0,
        until_us: int = 0,
        department: str = "",
        officer_id: str = "",
        dataset: str = "",
        subject_id: str = "",
        case_id: str = "",
        decision: str = "",
        reason: str = "",
        action: str = "",
        newest_first: bool = False,
        limit: int = 0,
        page_size: int = 100,
        page_token: str = "",
    ) -> AsyncIterator[LogPage]:
        """Search the access log (metadata only), page by page; `decision` "allow", "deny" or "" (either)."""
        request = audit_pb2.QueryEntriesRequest(
            filter=audit_pb2.EntryFilter(
                from_us=from_us,
                until_us=until_us,
                department=department,
                officer_id=officer_id,
                dataset=dataset,
                subject_id=subject_id,
                case_id=case_id,
                decision=decision_to_proto(decision),
                reason=reason,
                action=action,
            ),
            page=common_pb2.PageRequest(page_size=page_size, page_token=page_token),
            newest_first=newest_first,
            limit=limit,
        )
        async for page in self.stream(self._stubs.audit.QueryEntries, request):
            yield LogPage(tuple(entry_from_proto(e) for e in page.entries), page.page.next_page_token)

    async def get_subject_report(
        self, subject_id: str, *, from_us: int = 0, until_us: int = 0, page_size: int = 100, page_token: str = ""
    ) -> SubjectReport:
        """Every access to one person's or organisation's data, newest first (the citizen report)."""
        response = await self.call(
            self._stubs.audit.GetSubjectReport,
            audit_pb2.GetSubjectReportRequest(
                subject_id=subject_id,
                from_us=from_us,
                until_us=until_us,
                page=common_pb2.PageRequest(page_size=page_size, page_token=page_token),
            ),
        )
        return subject_report_from_proto(response)

    async def get_checkpoint(self, *, sign_now: bool = False) -> CheckpointInfo:
        """The latest signed checkpoint; `sign_now` has the hub sign one of the current log first."""
        response = await self.call(self._stubs.audit.GetCheckpoint, audit_pb2.GetCheckpointRequest(sign_now=sign_now))
        return checkpoint_from_proto(response)

    async def get_consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """The hashes proving that the log of `new_size` entries extends the one of `old_size` (RFC 6962)."""
        response = await self.call(
            self._stubs.audit.GetConsistencyProof,
            audit_pb2.GetConsistencyProofRequest(old_size=old_size, new_size=new_size),
        )
        return list(response.hashes)

    async def get_evidence_bundle(self, index: int) -> str:
        """The evidence bundle of entry `index` (the entry, its inclusion path, a signed checkpoint), as text:
        `EvidenceBundle.from_text` reads it, `exchange audit check-proof` checks it."""
        response = await self.call(self._stubs.audit.GetEvidenceBundle, audit_pb2.GetEvidenceBundleRequest(index=index))
        return response.bundle

    async def set_hidden_accesses(self, department: str, *, hidden: bool, legal_basis: str = "") -> HiddenAccesses:
        """Leave a department's future accesses out of citizen reports (auditors still see them), or show them."""
        response = await self.call(
            self._stubs.audit.SetHiddenAccesses,
            audit_pb2.SetHiddenAccessesRequest(department=department, hidden=hidden, legal_basis=legal_basis),
        )
        return HiddenAccesses(response.department, response.hidden, response.legal_basis)

    # --- approval cases ----------------------------------------------------------------------------

    async def create_case(
        self,
        service_item: str,
        applicant_id: str,
        *,
        applicant_kind: str = "organisation",
        title: str = "",
        request_id: str = "",
        parties: Sequence[PartyInfo] = (),
        applicant_name: str = "",
    ) -> CaseInfo:
        """Open a case (as the item's lead department); a retried request_id returns the same case.

        ``parties`` are the others besides the applicant whose data the application needs (e.g.
        ``PartyInfo("legal_representative", resident_id)``): a case reads data about its parties only.
        """
        response = await self.call(
            self._stubs.cases.CreateCase,
            cases_pb2.CreateCaseRequest(
                service_item=service_item,
                applicant_id=applicant_id,
                applicant_kind=applicant_kind,
                title=title,
                request_id=request_id,
                parties=[party_to_proto(p) for p in parties],
                applicant_name=applicant_name,
            ),
        )
        return case_from_proto(response.case)

    async def add_case_party(self, case_id: str, party: PartyInfo, *, expected_version: int = 0) -> CaseInfo:
        """Record one more party on an open case (your department must be on it)."""
        response = await self.call(
            self._stubs.cases.AddCaseParty,
            cases_pb2.AddCasePartyRequest(
                case_id=case_id, party=party_to_proto(party), expected_version=expected_version
            ),
        )
        return case_from_proto(response.case)

    async def get_case(self, case_id: str) -> CaseInfo:
        response = await self.call(self._stubs.cases.GetCase, cases_pb2.GetCaseRequest(id=case_id))
        return case_from_proto(response.case)

    async def transition_case(
        self, case_id: str, action: str, expected_version: int, *, reasons: Sequence[str] = (), comment: str = ""
    ) -> CaseInfo:
        """Apply a lifecycle action ("accept", "start_review", "approve", ...) to the version you read."""
        response = await self.call(
            self._stubs.cases.TransitionCase,
            cases_pb2.TransitionCaseRequest(
                id=case_id,
                action=cases_pb2.CaseAction.Value("CASE_ACTION_" + action.upper()),
                expected_version=expected_version,
                reasons=list(reasons),
                comment=comment,
            ),
        )
        return case_from_proto(response.case)

    async def record_opinion(
        self, case_id: str, verdict: str, *, comment: str = "", expected_version: int = 0
    ) -> CaseInfo:
        """This department's opinion: "approve", "reject" or "request_more" (the last two need a comment)."""
        response = await self.call(
            self._stubs.cases.RecordOpinion,
            cases_pb2.RecordOpinionRequest(
                case_id=case_id,
                verdict=cases_pb2.Verdict.Value("VERDICT_" + verdict.upper()),
                comment=comment,
                expected_version=expected_version,
            ),
        )
        return case_from_proto(response.case)

    async def attach_material(
        self, case_id: str, dataset: str, key: str = "", *, refresh: bool = False, timeout: float = 15.0
    ) -> tuple[MaterialInfo, bool]:
        """Fetch a required material into the case (once); True when this call fetched it from the issuer."""
        response = await self.call(
            self._stubs.cases.AttachMaterial,
            cases_pb2.AttachMaterialRequest(case_id=case_id, dataset=dataset, key=key, refresh=refresh),
            timeout=timeout,
        )
        return material_from_proto(response.material), response.fetched

    async def get_material(self, case_id: str, dataset: str, *, version: int = 0) -> MaterialInfo:
        """A material from the case, with the fields this department may see (no call to the issuer)."""
        response = await self.call(
            self._stubs.cases.GetMaterial,
            cases_pb2.GetMaterialRequest(case_id=case_id, dataset=dataset, version=version),
        )
        return material_from_proto(response.material, receipt_from_proto(response.receipt))

    async def get_annotated_copy(self, case_id: str, dataset: str, *, version: int = 0) -> AnnotatedCopyInfo:
        """The hub-signed annotated copy (加注件) of a case material, for this case's service item."""
        response = await self.call(
            self._stubs.cases.GetAnnotatedCopy,
            cases_pb2.GetAnnotatedCopyRequest(case_id=case_id, dataset=dataset, version=version),
            timeout=30.0,
        )
        digest = hashlib.sha256(response.pdf).hexdigest()
        if digest != response.sha256:
            raise DataLoss(
                f"the annotated copy's SHA-256 is {digest}, the hub said {response.sha256}",
                reason="COPY_DIGEST_MISMATCH",
            )
        return AnnotatedCopyInfo(
            pdf=response.pdf,
            sha256=digest,
            valid_until_us=response.valid_until_us,
            material=material_from_proto(response.material),
            receipt=receipt_from_proto(response.receipt),
        )

    async def list_materials(self, case_id: str) -> list[MaterialInfo]:
        response = await self.call(self._stubs.cases.ListMaterials, cases_pb2.ListMaterialsRequest(case_id=case_id))
        return [material_from_proto(m) for m in response.materials]

    async def list_cases(
        self, *, department: str = "", state: str = "", service_item: str = "", overdue_only: bool = False
    ) -> list[CaseInfo]:
        response = await self.call(
            self._stubs.cases.ListCases,
            cases_pb2.ListCasesRequest(
                department=department,
                state=cases_pb2.CaseState.Value("CASE_STATE_" + (state or "unspecified").upper()),
                service_item=service_item,
                overdue_only=overdue_only,
            ),
        )
        return [case_from_proto(c) for c in response.cases]

    async def list_overdue_cases(self, department: str = "", *, include_nearly_overdue: bool = True) -> list[CaseInfo]:
        response = await self.call(
            self._stubs.cases.ListOverdueCases,
            cases_pb2.ListOverdueCasesRequest(department=department, include_nearly_overdue=include_nearly_overdue),
        )
        return [case_from_proto(c) for c in response.cases]

    async def get_savings(self, *, case_id: str = "", service_item: str = "") -> SavingsInfo:
        """Savings of one case, one service item, or (neither given) the whole hub."""
        response = await self.call(
            self._stubs.cases.GetSavings, cases_pb2.GetSavingsRequest(case_id=case_id, service_item=service_item)
        )
        return savings_from_proto(response.savings)

    # --- supervision (电子监察) ---------------------------------------------------------------------------

    async def supervision_figures(self, *, since_us: int, until_us: int = 0) -> Figures:
        """Figures per department and per service item over [since_us, until_us) (until 0: now)."""
        response = await self.call(
            self._stubs.supervision.GetFigures, supervision_pb2.GetFiguresRequest(since_us=since_us, until_us=until_us)
        )
        return figures_from_proto(response.figures)

    async def list_warnings(self, department: str = "") -> list[CaseWarningInfo]:
        """Open cases with a warning level now (yellow or red), of one department or every one."""
        response = await self.call(
            self._stubs.supervision.ListWarnings, supervision_pb2.ListWarningsRequest(department=department)
        )
        return [from_message(CaseWarningInfo, w) for w in response.warnings]

    async def list_escalations(self, owner: str = "") -> list[EscalationInfo]:
        """Access requests escalated to the hub's supervisors, counted against ``owner`` (empty: every one)."""
        response = await self.call(
            self._stubs.supervision.ListEscalations, supervision_pb2.ListEscalationsRequest(owner=owner)
        )
        return [from_message(EscalationInfo, e) for e in response.escalations]

    async def supervision_report(self, period: str, *, at_us: int = 0) -> SupervisionReport:
        """The report of the last whole week or month before ``at_us`` (0: now): figures, CSV and PDF."""
        response = await self.call(
            self._stubs.supervision.GetReport,
            supervision_pb2.GetReportRequest(period=period, at_us=at_us),
            timeout=120.0,
        )
        return report_from_proto(response)

    # --- correction tickets (校核纠错) ------------------------------------------------------------------

    async def open_ticket(
        self,
        case_id: str,
        dataset: str,
        fields: Sequence[str],
        reason: str,
        *,
        evidence_text: str = "",
        evidence_digest: str = "",
    ) -> Ticket:
        """Flag fields of a material the case holds as wrong or out of date; the issuer must answer."""
        response = await self.call(
            self._stubs.tickets.OpenTicket,
            tickets_pb2.OpenTicketRequest(
                case_id=case_id,
                dataset=dataset,
                fields=list(fields),
                reason=reason,
                evidence_text=evidence_text,
                evidence_digest=evidence_digest,
            ),
        )
        return ticket_from_proto(response.ticket)

    async def get_ticket(self, ticket_id: str) -> Ticket:
        response = await self.call(self._stubs.tickets.GetTicket, tickets_pb2.GetTicketRequest(ticket_id=ticket_id))
        return ticket_from_proto(response.ticket)

    async def list_tickets(self, *, dataset: str = "", state: str = "", role: str = "") -> list[Ticket]:
        """Tickets the department opened ("opened") or must answer ("to_answer"); empty role: both."""
        response = await self.call(
            self._stubs.tickets.ListTickets, tickets_pb2.ListTicketsRequest(dataset=dataset, state=state, role=role)
        )
        return [ticket_from_proto(t) for t in response.tickets]

    async def answer_ticket(self, ticket_id: str, answer: str, reason: str) -> Ticket:
        """The issuer answers: corrected, no_error or cannot_correct, with a reason."""
        response = await self.call(
            self._stubs.tickets.AnswerTicket,
            tickets_pb2.AnswerTicketRequest(ticket_id=ticket_id, answer=answer, reason=reason),
        )
        return ticket_from_proto(response.ticket)
