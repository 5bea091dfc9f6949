"""The hub's adapter client against real Provider servers: dead, slow, failing and recovering adapters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from adapters.sdk import Adapter
from adapters.server import RunningAdapter, start_provider
from adapters.signing import DocumentSigner
from adapters.sources.filters import RowFilter
from catalog.model import Dataset
from exchange.adapter_client import AdapterClient, CircuitBreaker
from exchange.auth.keys import generate_ed25519
from exchange.errors import DeadlineExceeded, Unavailable
from exchange.testing import AdapterLink, adapter_link, free_port
from exchange.v1 import provider_pb2

from .hubsetup import example_dataset

USCC = "91110105MA01ABCD13"


def licence(key: str) -> dict[str, Any]:
    return {
        "unified_social_credit_code": key,
        "name": "Example Catering Co., Ltd.",
        "company_type": "limited liability company",
        "legal_representative": "Wang Fang",
        "established_on": "2019-04-01",
        "address": "1 Jianguo Road, Chaoyang, Beijing",
        "registration_authority": "Chaoyang Market Regulation",
        "status": "01",
        "licence_id": "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
    }


class Flaky(Adapter):
    """Answers after a delay, or fails with UNAVAILABLE for the first failures calls; counts calls."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        super().__init__("SAMR", datasets)
        self.calls = 0
        self.scans = 0
        self.failures = 0
        self.delay = 0.0

    async def lookup(self, dataset: Dataset, key: str) -> dict[str, Any] | None:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise Unavailable("the registry is restarting", reason="UPSTREAM_UNAVAILABLE")
        await asyncio.sleep(self.delay)
        return licence(key) if key == USCC else None

    async def scan(
        self, dataset: Dataset, columns: Sequence[str] | None, row_filter: RowFilter | None, batch_rows: int = 1
    ) -> AsyncIterator[pa.RecordBatch]:
        self.scans += 1
        if self.failures:
            self.failures -= 1
            raise Unavailable("the export is being rewritten", reason="UPSTREAM_UNAVAILABLE")
        yield pa.RecordBatch.from_pylist([], schema=dataset.schema.arrow_schema())


@pytest.fixture
def link(tmp_path: Path) -> AdapterLink:
    """SAMR's adapter serving TLS and admitting the hub's client certificate, as in production."""
    return adapter_link(tmp_path, "SAMR")


@pytest.fixture
async def flaky(link: AdapterLink) -> AsyncIterator[tuple[Flaky, RunningAdapter]]:
    adapter = Flaky([example_dataset("business_licence"), example_dataset("enterprise_register")])
    key = generate_ed25519()
    running = await start_provider(adapter, DocumentSigner("SAMR", "k1", key), listen="127.0.0.1:0", tls=link.adapter)
    try:
        yield adapter, running
    finally:
        await running.stop(grace=0)


@pytest.fixture
async def client(link: AdapterLink) -> AsyncIterator[AdapterClient]:
    made = AdapterClient(link.hub, timeout_seconds=1.0, retries=2, breaker_failures=3)
    try:
        yield made
    finally:
        await made.close()


def lookup(key: str = USCC) -> provider_pb2.LookupRequest:
    return provider_pb2.LookupRequest(dataset="business_licence", key=key)


async def test_dead_adapter_is_unavailable_naming_the_department(client: AdapterClient) -> None:
    with pytest.raises(Unavailable) as err:
        await client.lookup("SAMR", f"127.0.0.1:{free_port()}", lookup())
    assert err.value.reason == "ADAPTER_UNAVAILABLE" and "adapter of SAMR" in err.value.message


async def test_department_without_an_adapter_is_unavailable_saying_so(client: AdapterClient) -> None:
    with pytest.raises(Unavailable) as err:
        await client.lookup("MNR", "", lookup())
    assert err.value.reason == "ADAPTER_NOT_CONFIGURED" and "MNR" in err.value.message
    with pytest.raises(Unavailable) as scan_err:
        async for _ in client.scan("MNR", "", provider_pb2.ProviderServiceScanRequest(dataset="enterprise_register")):
            pass
    assert scan_err.value.reason == "ADAPTER_NOT_CONFIGURED"


async def test_slow_adapter_is_deadline_exceeded(client: AdapterClient, flaky: tuple[Flaky, RunningAdapter]) -> None:
    adapter, running = flaky
    adapter.delay = 5.0
    with pytest.raises(DeadlineExceeded) as err:
        await client.lookup("SAMR", f"127.0.0.1:{running.port}", lookup(), deadline=0.3)
    assert err.value.reason == "ADAPTER_TIMEOUT" and "SAMR" in err.value.message
    assert adapter.calls == 1  # a slow answer is not asked again: the caller's time is spent


async def test_unknown_key_is_not_found(client: AdapterClient, flaky: tuple[Flaky, RunningAdapter]) -> None:
    _, running = flaky
    answer = await client.lookup("SAMR", f"127.0.0.1:{running.port}", lookup("91110105MA01ABCD26"))
    assert not answer.found


async def test_lookups_are_retried_through_a_passing_failure(
    client: AdapterClient, flaky: tuple[Flaky, RunningAdapter]
) -> None:
    adapter, running = flaky
    adapter.failures = 2
    answer = await client.lookup("SAMR", f"127.0.0.1:{running.port}", lookup())
    assert answer.found and adapter.calls == 3


async def test_scans_are_not_retried(client: AdapterClient, flaky: tuple[Flaky, RunningAdapter]) -> None:
    adapter, running = flaky
    adapter.failures = 1
    request = provider_pb2.ProviderServiceScanRequest(dataset="enterprise_register")
    with pytest.raises(Unavailable) as err:
        async for _ in client.scan("SAMR", f"127.0.0.1:{running.port}", request):
            pass
    assert adapter.scans == 1 and "SAMR" in err.value.message


async def test_circuit_opens_after_repeated_failures_and_closes_after_a_good_trial_call(
    client: AdapterClient, flaky: tuple[Flaky, RunningAdapter]
) -> None:
    adapter, running = flaky
    now = [0.0]
    client.breakers["SAMR"] = CircuitBreaker(failures=3, reset_seconds=10.0, clock=lambda: now[0])
    endpoint = f"127.0.0.1:{running.port}"
    adapter.failures = 9  # three lookups of three attempts each
    for _ in range(3):
        with pytest.raises(Unavailable):
            await client.lookup("SAMR", endpoint, lookup())
    calls = adapter.calls
    with pytest.raises(Unavailable) as err:
        await client.lookup("SAMR", endpoint, lookup())
    assert err.value.reason == "ADAPTER_CIRCUIT_OPEN" and adapter.calls == calls  # the adapter was spared

    now[0] += 10.0
    answer = await client.lookup("SAMR", endpoint, lookup())
    assert answer.found and not client.breaker("SAMR").open
