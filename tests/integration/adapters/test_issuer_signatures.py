"""Documents from adapter processes: a forged or altered one is refused with DATA_LOSS and logged;
hostile keys never reach an adapter through the hub, and an adapter refuses them itself."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import pytest_asyncio
import yaml

from catalog.specs import parse_service_item
from catalog.yaml_io import load_spec_file
from exchange.auth.keys import generate_ed25519, key_id
from exchange.demo.data import generate
from exchange.errors import DataLoss, ExchangeError, FailedPrecondition, InvalidArgument, status_name
from exchange.testing import HubFixture, start_test_hub, system_caller
from exchange.v1 import provider_pb2

from .hubsetup import CONSUMER, AdapterProcess, grant, open_case, spawn_adapter, spec_path

FIELDS = ("unified_social_credit_code", "name", "status", "licence_id")
DEPARTMENTS = ("SAMR", "FORGED", "TAMPER", "ROGUE")


@dataclass
class World:
    hub: HubFixture
    adapters: dict[str, AdapterProcess]
    case_id: str
    uscc: str


def write_licences(path: Path) -> str:
    """Business licences of the demo companies as Parquet (dataset column names); a suspended company's USCC."""
    data = generate(5, companies=12)
    table = pa.Table.from_pylist(
        [
            {
                "unified_social_credit_code": c.uscc,
                "name": c.name,
                "company_type": c.company_type,
                "legal_representative": c.legal_representative.name,
                "legal_representative_id": c.legal_representative.resident_id,
                "registered_capital": Decimal(c.registered_capital),
                "established_on": c.established_on,
                "address": c.address,
                "business_scope": c.business_scope,
                "registration_authority": "Chaoyang Market Regulation",
                "status": c.status,
                "valid_until": c.valid_until,
                "licence_id": c.licence_id,
            }
            for c in data.companies
        ]
    )
    pq.write_table(table, path)
    return next(c.uscc for c in data.companies if c.status == "02")


def variant_spec(folder: Path, department: str) -> Path:
    """business_licence as served by department (its own dataset code, so four adapters can serve it)."""
    spec = load_spec_file(spec_path("business_licence"))
    spec["spec"].update(code=f"licence_{department.lower()}", owner=department)
    path = folder / f"licence_{department.lower()}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


# One hub and four adapter processes serve every test here: starting processes is the slow part.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp_path = tmp_path_factory.mktemp("signatures")
    hub = await start_test_hub(tmp_path / "hub")
    parquet = tmp_path / "licences.parquet"
    uscc = write_licences(parquet)
    source = {"type": "files", "path": str(parquet), "key_column": "unified_social_credit_code"}
    keys = {code: generate_ed25519() for code in DEPARTMENTS}
    registered = {code: keys[code].public_key() for code in DEPARTMENTS}
    registered["FORGED"] = generate_ed25519().public_key()  # the hub knows another key under the same kid

    def config(code: str) -> list[dict[str, object]]:
        spec = variant_spec(tmp_path, code)
        return [{"dataset": f"licence_{code.lower()}", "version": "1.0", "spec": str(spec), "source": source}]

    spawned = await asyncio.gather(
        spawn_adapter(tmp_path / "samr", "SAMR", config("SAMR"), keys["SAMR"], tls=hub.adapter_tls_section("SAMR")),
        spawn_adapter(
            tmp_path / "forged",
            "FORGED",
            config("FORGED"),
            keys["FORGED"],
            kid=key_id(registered["FORGED"]),
            tls=hub.adapter_tls_section("FORGED"),
        ),
        spawn_adapter(
            tmp_path / "tamper",
            "TAMPER",
            config("TAMPER"),
            keys["TAMPER"],
            command=[sys.executable, str(Path(__file__).with_name("tampering_adapter.py"))],
            tls=hub.adapter_tls_section("TAMPER"),
        ),
        spawn_adapter(
            tmp_path / "rogue",
            "ROGUE",
            config("ROGUE"),
            keys["ROGUE"],
            kid="rogue-unregistered",
            tls=hub.adapter_tls_section("ROGUE"),
        ),
    )
    adapters = dict(zip(DEPARTMENTS, spawned, strict=True))
    try:
        for code, adapter in adapters.items():
            await hub.add_department(code, adapter_endpoint=adapter.endpoint, signing_public_key=registered[code])
        await hub.add_department(CONSUMER)
        item = {"code": "licence_check", "name": "Licence check", "lead_department": CONSUMER, "time_limit_days": 5}
        item["required_materials"] = []
        for code in DEPARTMENTS:
            dataset = f"licence_{code.lower()}"
            await hub.register_example_dataset("business_licence", code=dataset, owner=code)
            item["required_materials"].append({"dataset": dataset, "fields": list(FIELDS)})  # type: ignore[attr-defined]
        await hub.running.registry.register_service_item(parse_service_item(item), system_caller())
        for code in DEPARTMENTS:
            await grant(hub, f"licence_{code.lower()}", FIELDS)
        case_id = await open_case(hub, "licence_check", CONSUMER, uscc)
        yield World(hub, adapters, case_id, uscc)
    finally:
        for adapter in adapters.values():
            await adapter.stop()
        await hub.stop()


async def fetch(w: World, department: str, key: str | None = None) -> dict[str, object]:
    client = w.hub.clients[0] if w.hub.clients else w.hub.client(CONSUMER)
    document = await client.fetch(f"licence_{department.lower()}", key or w.uscc, case_id=w.case_id)
    return dict(document.data)


async def test_the_honest_adapter_process_is_believed(world: World) -> None:
    assert (await fetch(world, "SAMR"))["status"] == "02"


@pytest.mark.parametrize(
    ("department", "error", "reason"),
    [
        ("FORGED", DataLoss, "ISSUER_SIGNATURE_INVALID"),
        ("TAMPER", DataLoss, "ISSUER_SIGNATURE_INVALID"),
        ("ROGUE", FailedPrecondition, "ISSUER_KEY_UNKNOWN"),
    ],
)
async def test_forged_altered_or_unknown_key_documents_are_refused_and_logged(
    world: World, department: str, error: type[ExchangeError], reason: str
) -> None:
    with pytest.raises(error) as refused:
        await fetch(world, department)
    assert refused.value.reason == reason
    entry = (await world.hub.log_entries())[-1]
    assert (entry.action, entry.dataset, entry.reason) == ("exchange.fetch", f"licence_{department.lower()}", reason)
    assert entry.outcome == status_name(refused.value) and not entry.fields  # nothing was returned


HOSTILE_KEYS = [
    "91110105' OR '1'='1",
    "91110105MA01ABCD13; DROP TABLE residents; --",
    "../../../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "9" * 10_000,
    "91110105MA01ABCD13\x00",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=range(len(HOSTILE_KEYS)))
async def test_hostile_keys_are_refused_by_the_hub_before_any_adapter_call(world: World, key: str) -> None:
    calls = world.hub.running.fetcher.upstream_calls
    with pytest.raises(InvalidArgument):
        await fetch(world, "SAMR", key)
    assert world.hub.running.fetcher.upstream_calls == calls
    entry = (await world.hub.log_entries())[-1]
    # Keys beyond the key limit (length, characters) are refused at the edge, the others by the key format.
    assert entry.decision == "deny"
    assert entry.reason in ("MALFORMED_KEY", "VALUE_TOO_LONG", "VALUE_INVALID_CHARACTERS")


async def test_hostile_keys_sent_straight_to_an_adapter_process_are_refused_there_too(world: World) -> None:
    endpoint = world.adapters["SAMR"].endpoint
    for key in HOSTILE_KEYS:
        with pytest.raises(InvalidArgument):
            await world.hub.hub.adapters.lookup(
                "SAMR", endpoint, provider_pb2.LookupRequest(dataset="licence_samr", key=key)
            )
    # The adapter still serves, and its data are unchanged.
    assert (await fetch(world, "SAMR"))["status"] == "02"
