"""The Provider server over a Python adapter: schema checks before signing, Arrow IPC scans in small
messages, status, describe, mTLS, health checking and a graceful stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adapters.bulk import DigestChain, ScanBinding, verify_manifest
from adapters.config import TlsConfig
from adapters.ipc import MESSAGE_OVERHEAD_BYTES, read_batch, read_schema
from adapters.sdk import Adapter
from adapters.server import RunningAdapter, signed_from_proto, start_provider
from adapters.signing import DocumentSigner, SignedDocument, verify_document
from adapters.sources.filters import RowFilter
from catalog.model import Dataset
from exchange.adapter_client import AdapterClient, TransportSecurity
from exchange.auth.keys import generate_ed25519
from exchange.auth.pki import init_pki, issue_adapter_certificate
from exchange.demo.data import synthetic_register
from exchange.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from exchange.testing import AdapterLink, adapter_link
from exchange.v1 import provider_pb2

from .hubsetup import example_dataset

GOOD = "91110105MA01ABCD13"
BAD_TYPE = "91110105MA01ABCD26"
SIGNING_KEY = generate_ed25519()


class Registry(Adapter):
    """A department system written in Python: one good licence, one with a number where text belongs."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        super().__init__("SAMR", datasets)
        self.delay = 0.0

    async def lookup(self, dataset: Dataset, key: str) -> dict[str, Any] | None:
        await asyncio.sleep(self.delay)
        if key not in (GOOD, BAD_TYPE):
            return None
        return {
            "unified_social_credit_code": key,
            "name": "Example Catering Co., Ltd." if key == GOOD else 12345,
            "company_type": "limited liability company",
            "legal_representative": "Wang Fang",
            "established_on": "2019-04-01",
            "address": "1 Jianguo Road, Chaoyang, Beijing",
            "registration_authority": "Chaoyang Market Regulation",
            "status": "02",
            "valid_until": "2049-03-31",
            "licence_id": "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
        }

    async def scan(
        self, dataset: Dataset, columns: Sequence[str] | None, row_filter: RowFilter | None, batch_rows: int = 1
    ) -> AsyncIterator[pa.RecordBatch]:
        table = synthetic_register(50_000, name_chars=100)
        for batch in table.select(list(columns or table.column_names)).to_batches(max_chunksize=batch_rows):
            yield batch


def served() -> list[Dataset]:
    return [example_dataset("business_licence"), example_dataset("enterprise_register")]


@pytest.fixture
def link(tmp_path: Path) -> AdapterLink:
    """SAMR's adapter serving TLS and admitting the hub's client certificate, as in production."""
    return adapter_link(tmp_path, "SAMR")


@pytest.fixture
async def provider(link: AdapterLink) -> AsyncIterator[tuple[Registry, RunningAdapter, AdapterClient]]:
    adapter = Registry(served())
    running = await start_provider(
        adapter, DocumentSigner("SAMR", "samr-1", SIGNING_KEY), listen="127.0.0.1:0", tls=link.adapter
    )
    client = AdapterClient(link.hub, timeout_seconds=5.0)
    try:
        yield adapter, running, client
    finally:
        await client.close()
        await running.stop(grace=0)


def signed(response: provider_pb2.LookupResponse) -> SignedDocument:
    return signed_from_proto(response.document)


async def test_lookup_answers_a_document_signed_by_the_department(
    provider: tuple[Registry, RunningAdapter, AdapterClient],
) -> None:
    _, running, client = provider
    endpoint = f"127.0.0.1:{running.port}"
    answer = await client.lookup("SAMR", endpoint, provider_pb2.LookupRequest(dataset="business_licence", key=GOOD))
    document = signed(answer)
    verify_document(document, lambda issuer, kid: SIGNING_KEY.public_key() if kid == "samr-1" else None)
    assert (document.issuer, document.dataset_version, document.document()["status"]) == (
        "SAMR",
        "1.0",
        "02",
    )
    missing = await client.lookup(
        "SAMR", endpoint, provider_pb2.LookupRequest(dataset="business_licence", key="91110105MA01ABCD4C")
    )
    assert not missing.found and not missing.HasField("document")


async def test_a_document_that_does_not_fit_the_schema_is_an_error_naming_the_field_never_signed(
    provider: tuple[Registry, RunningAdapter, AdapterClient],
) -> None:
    _, running, client = provider
    with pytest.raises(FailedPrecondition) as err:
        await client.lookup(
            "SAMR", f"127.0.0.1:{running.port}", provider_pb2.LookupRequest(dataset="business_licence", key=BAD_TYPE)
        )
    assert err.value.reason == "DOCUMENT_SCHEMA_MISMATCH"
    assert [v.field for v in err.value.violations] == ["name"] and "found integer" in err.value.message


async def test_unknown_dataset_and_malformed_key_are_refused(
    provider: tuple[Registry, RunningAdapter, AdapterClient],
) -> None:
    _, running, client = provider
    endpoint = f"127.0.0.1:{running.port}"
    with pytest.raises(NotFound) as unknown:
        await client.lookup("SAMR", endpoint, provider_pb2.LookupRequest(dataset="identity_record", key=GOOD))
    assert unknown.value.reason == "DATASET_NOT_SERVED" and "business_licence" in unknown.value.message
    with pytest.raises(InvalidArgument):
        await client.lookup("SAMR", endpoint, provider_pb2.LookupRequest(dataset="business_licence", key="1' OR 1=1"))


async def test_status_reads_the_status_and_validity_fields(
    provider: tuple[Registry, RunningAdapter, AdapterClient],
) -> None:
    _, running, client = provider
    status = await client.status(
        "SAMR", f"127.0.0.1:{running.port}", provider_pb2.StatusRequest(dataset="business_licence", key=GOOD)
    )
    assert (status.found, status.status_code, status.valid) == (True, "02", False)
    assert status.valid_until_us > status.checked_at_us


async def test_describe_lists_the_datasets_served(provider: tuple[Registry, RunningAdapter, AdapterClient]) -> None:
    _, running, client = provider
    described = await client.describe("SAMR", f"127.0.0.1:{running.port}")
    assert described.department == "SAMR"
    assert [(d.dataset, d.version, d.source) for d in described.datasets] == [
        ("business_licence", "1.0", "custom"),
        ("enterprise_register", "1.0", "custom"),
    ]


async def test_scan_sends_the_schema_first_then_batches_of_at_most_a_few_mib(
    provider: tuple[Registry, RunningAdapter, AdapterClient],
) -> None:
    _, running, client = provider
    request = provider_pb2.ProviderServiceScanRequest(
        dataset="enterprise_register", columns=["name", "status"], batch_rows=50_000
    )
    responses = [r async for r in client.scan("SAMR", f"127.0.0.1:{running.port}", request)]
    schema = read_schema(responses[0].arrow_schema, "adapter")
    assert schema.names == ["name", "status"] and not responses[0].arrow_batch
    batches = [read_batch(r.arrow_batch, schema, "adapter") for r in responses[1:-1]]
    assert sum(b.num_rows for b in batches) == 50_000 and len(batches) > 1
    assert max(len(r.arrow_batch) for r in responses[1:-1]) <= 2 * 1024 * 1024 + 4096
    assert responses[-1].manifest_json and not responses[-1].arrow_batch


async def test_scan_keeps_to_the_hubs_message_size_and_closes_with_a_manifest_signed_by_the_department(
    provider: tuple[Registry, RunningAdapter, AdapterClient],
) -> None:
    _, running, client = provider
    request = provider_pb2.ProviderServiceScanRequest(
        dataset="enterprise_register",
        columns=["name", "status"],
        batch_rows=50_000,
        request_id="r-7",
        nonce=b"\x07" * 16,
        max_message_bytes=256 * 1024,
    )
    responses = [r async for r in client.scan("SAMR", f"127.0.0.1:{running.port}", request)]
    schema = read_schema(responses[0].arrow_schema, "adapter")
    assert max(len(r.arrow_batch) for r in responses[1:-1]) <= 256 * 1024 + MESSAGE_OVERHEAD_BYTES
    binding = ScanBinding.of(
        issuer="SAMR",
        dataset="enterprise_register",
        version=running.adapter.datasets["enterprise_register"].version,
        schema=schema,
        filter="",
        request_id="r-7",
        nonce=b"\x07" * 16,
    )
    chain = DigestChain(binding.chain_start(), "adapter")
    for r in responses[1:-1]:
        chain.check(r.arrow_batch, r.rows, r.chain)
    verified = verify_manifest(
        responses[-1].manifest_json,
        responses[-1].manifest_signature,
        chain,
        lambda _, kid: SIGNING_KEY.public_key() if kid == "samr-1" else None,
        binding.as_json(),
    )
    assert (verified.issuer, verified.rows, verified.batches) == ("SAMR", 50_000, len(responses) - 2)


async def test_scan_of_a_record_dataset_or_unknown_column_is_refused(
    provider: tuple[Registry, RunningAdapter, AdapterClient],
) -> None:
    _, running, client = provider
    endpoint = f"127.0.0.1:{running.port}"
    for request, error in [
        (provider_pb2.ProviderServiceScanRequest(dataset="business_licence"), FailedPrecondition),
        (provider_pb2.ProviderServiceScanRequest(dataset="enterprise_register", columns=["nope"]), InvalidArgument),
        (provider_pb2.ProviderServiceScanRequest(dataset="enterprise_register", filter="status ~ 1"), InvalidArgument),
    ]:
        with pytest.raises(error):
            async for _ in client.scan("SAMR", endpoint, request):
                pass


async def test_stop_lets_a_call_in_flight_finish_and_health_says_not_serving(
    provider: tuple[Registry, RunningAdapter, AdapterClient], link: AdapterLink
) -> None:
    adapter, running, client = provider
    endpoint = f"127.0.0.1:{running.port}"
    async with link.hub_channel(endpoint) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        serving = await health.Check(health_pb2.HealthCheckRequest(service="exchange.v1.ProviderService"))
        assert serving.status == health_pb2.HealthCheckResponse.SERVING
        adapter.delay = 0.5
        in_flight = asyncio.create_task(
            client.lookup("SAMR", endpoint, provider_pb2.LookupRequest(dataset="business_licence", key=GOOD))
        )
        await asyncio.sleep(0.1)
        await running.stop(grace=5.0)
        assert (await in_flight).found


def test_plain_text_must_be_asked_for() -> None:
    with pytest.raises(InvalidArgument) as err:
        asyncio.run(start_provider(Registry(served()), DocumentSigner("SAMR", "k", SIGNING_KEY), listen="127.0.0.1:0"))
    assert err.value.violations[0].field == "tls"


async def test_mtls_admits_the_hub_with_a_certificate_and_refuses_a_client_without_one(tmp_path: Path) -> None:
    paths = init_pki(tmp_path / "pki")
    server_key, server_cert = issue_adapter_certificate(paths.directory, "SAMR", hosts=("localhost",))
    client_key, client_cert = paths.hub_client_key, paths.hub_client_cert
    running = await start_provider(
        Registry(served()),
        DocumentSigner("SAMR", "samr-1", SIGNING_KEY),
        listen="127.0.0.1:0",
        tls=TlsConfig(server_cert, server_key, paths.ca_cert),
    )
    request = provider_pb2.LookupRequest(dataset="business_licence", key=GOOD)
    try:
        hub_side = AdapterClient(
            TransportSecurity(paths.ca_cert.read_bytes(), client_cert.read_bytes(), client_key.read_bytes())
        )
        stranger = AdapterClient(TransportSecurity(paths.ca_cert.read_bytes()), retries=0)
        try:
            assert (await hub_side.lookup("SAMR", f"localhost:{running.port}", request)).found
            # Without a client certificate the TLS handshake fails, which gRPC reports as UNAVAILABLE.
            with pytest.raises(Unavailable) as refused:
                await stranger.lookup("SAMR", f"localhost:{running.port}", request)
            assert refused.value.reason == "ADAPTER_UNAVAILABLE"
        finally:
            await hub_side.close()
            await stranger.close()
    finally:
        await running.stop(grace=0)
