"""A restaurant-permit world: a real hub, four issuing departments' real Provider servers, grants, documents."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.sdk import Adapter
from adapters.server import RunningAdapter, start_provider
from adapters.signing import DocumentSigner
from catalog.identifiers import generate_licence_id, generate_resident_id, generate_uscc
from catalog.model import Dataset
from exchange.auth.keys import generate_ed25519
from exchange.cases.desk import CaseDesk
from exchange.cases.lifecycle import CaseState
from exchange.client import CaseInfo, HubClient, PartyInfo
from exchange.testing import EXAMPLES, DepartmentKeys, HubFixture, start_test_hub, system_caller

ITEM = "restaurant_permit"
CALENDAR = EXAMPLES / "calendar" / "cn-2026.yaml"
ISSUERS = {
    "SAMR": ["business_licence"],
    "PSB": ["identity_record"],
    "MNR": ["property_certificate"],
    "FIRE": ["fire_safety_certificate"],
}


class MemoryAdapter(Adapter):
    """An issuer's adapter over documents held in memory; counts the lookups it answers."""

    def __init__(self, department: str, datasets: list[Dataset]) -> None:
        super().__init__(department, datasets)
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}
        self.lookups: Counter[tuple[str, str]] = Counter()
        # Cleared by a test to hold lookups in flight (to make concurrent requests overlap).
        self.gate = asyncio.Event()
        self.gate.set()

    async def lookup(self, dataset: Dataset, key: str) -> dict[str, Any] | None:
        self.lookups[(dataset.code, key)] += 1
        await self.gate.wait()
        return self.documents.get((dataset.code, key))


@dataclass
class PermitWorld:
    """Everything a restaurant-permit case needs, running on loopback."""

    hub: HubFixture
    adapters: dict[str, MemoryAdapter]
    keys: dict[str, str]
    servers: list[RunningAdapter] = field(default_factory=list)

    @property
    def desk(self) -> CaseDesk:
        return self.hub.running.app.cases

    def officer(self, department: str, officer: str = "officer-1") -> HubClient:
        return self.hub.client(department, officer=officer)

    @property
    def parties(self) -> list[PartyInfo]:
        """The applicant company's legal representative, who also owns the premises (the property's holder)."""
        person = self.keys["identity_record"]
        return [
            PartyInfo("legal_representative", person, name="王伟"),
            PartyInfo("premises_owner", person, name="王伟"),
        ]

    def total_lookups(self) -> int:
        return sum(sum(a.lookups.values()) for a in self.adapters.values())


def permit_documents(rng: random.Random) -> tuple[dict[str, str], dict[tuple[str, str], dict[str, Any]]]:
    """Keys and consistent, schema-valid documents for one applicant company."""
    company = generate_uscc(rng)
    person = generate_resident_id(rng)
    ministry = generate_uscc(rng) + "001"
    bl = generate_licence_id(rng, type_code=ministry, issuer_uscc=generate_uscc(rng))
    prop = generate_licence_id(rng, type_code=ministry, issuer_uscc=generate_uscc(rng))
    fire = generate_licence_id(rng, type_code=ministry, issuer_uscc=generate_uscc(rng))
    address = "北京市朝阳区建国路88号"
    keys = {
        "business_licence": company,
        "identity_record": person,
        "property_certificate": prop,
        "fire_safety_certificate": fire,
    }
    docs = {
        ("business_licence", company): {
            "unified_social_credit_code": company,
            "name": "北京福满楼餐饮管理有限公司",
            "company_type": "有限责任公司",
            "legal_representative": "王伟",
            "legal_representative_id": person,
            "established_on": "2020-03-01",
            "address": address,
            "business_scope": "餐饮服务 食品销售",
            "registration_authority": "北京市朝阳区市场监督管理局",
            "status": "01",
            "valid_until": "2045-12-31",
            "licence_id": bl,
        },
        ("identity_record", person): {
            "resident_id": person,
            "name": "王伟",
            "sex": "1",
            "birth_date": "1985-06-01",
            "address": "北京市朝阳区望京街1号",
        },
        ("property_certificate", prop): {
            "licence_id": prop,
            "certificate_number": "京(2021)朝阳区不动产权第0001234号",
            "holder_name": "王伟",
            "holder_id": person,
            "holder_id_type": "111",
            "address": address,
            "area_m2": "120.50",
            "use": "commercial",
            "issued_on": "2021-05-10",
            "status": "01",
            "valid_until": "2061-05-09",
        },
        ("fire_safety_certificate", fire): {
            "licence_id": fire,
            "holder_uscc": company,
            "holder_name": "北京福满楼餐饮管理有限公司",
            "premises_address": address,
            "inspection_date": "2026-09-01",
            "status": "01",
            "valid_until": "2029-08-31",
        },
    }
    return keys, docs


async def build_world(tmp_path: Path, backend: str = "sqlite", **settings: Any) -> PermitWorld:
    """Start the hub and the four issuers' adapters; register departments, datasets, the item and grants."""
    hub = await start_test_hub(tmp_path / "hub", backend=backend, calendar_file=str(CALENDAR), **settings)
    world = PermitWorld(hub, {}, {})
    try:
        datasets = {}
        for code in ("TAX", *ISSUERS):
            signing: Ed25519PrivateKey = generate_ed25519()
            hub.departments[code] = DepartmentKeys(code, generate_ed25519(), signing)
        for dept, codes in ISSUERS.items():
            await hub.add_department(dept)
            for code in codes:
                # The identity register is conditional; the permit's grants stand for approved requests.
                extra = {"sharing_type": "unconditional"} if code == "identity_record" else {}
                datasets[code] = await hub.register_example_dataset(code, **extra)
        for dept, codes in ISSUERS.items():
            keys = hub.departments[dept]
            adapter = MemoryAdapter(dept, [datasets[c] for c in codes])
            signer = DocumentSigner(dept, keys.signing_kid, keys.signing_key)
            running = await start_provider(adapter, signer, listen="127.0.0.1:0", tls=hub.adapter_tls(dept))
            world.servers.append(running)
            world.adapters[dept] = adapter
            await hub.add_department(dept, adapter_endpoint=f"127.0.0.1:{running.port}")
        await hub.add_department("TAX")
        item = await hub.register_example_item(ITEM)
        for material in item.required_materials:
            for consumer in (item.lead_department, *item.co_reviewers, "TAX"):
                await hub.running.registry.create_grant(
                    system_caller(), consumer=consumer, dataset=material.dataset, fields=material.fields
                )
        world.keys, docs = permit_documents(random.Random(6))
        for (dataset, key), doc in docs.items():
            owner = datasets[dataset].owner
            world.adapters[owner].documents[(dataset, key)] = doc
    except BaseException:
        await stop_world(world)
        raise
    return world


async def stop_world(world: PermitWorld) -> None:
    await world.hub.stop()
    for server in world.servers:
        await server.stop(grace=0.5)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[PermitWorld]:
    """The permit world on SQLite."""
    built = await build_world(tmp_path)
    try:
        yield built
    finally:
        await stop_world(built)


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_backend_world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[PermitWorld]:
    """The permit world on each storage backend in turn."""
    built = await build_world(tmp_path, request.param)
    try:
        yield built
    finally:
        await stop_world(built)


# The shortest path of (action, reasons) from a new case to each state.
PATHS: dict[CaseState, list[str]] = {
    CaseState.SUBMITTED: [],
    CaseState.AWAITING_CORRECTION: ["request_correction"],
    CaseState.ACCEPTED: ["accept"],
    CaseState.IN_REVIEW: ["accept", "start_review"],
    CaseState.APPROVED: ["accept", "start_review", "approve"],
    CaseState.REJECTED: ["accept", "start_review", "reject"],
    CaseState.NOT_ACCEPTED: ["not_accept"],
    CaseState.WITHDRAWN: ["withdraw"],
    CaseState.CLOSED: ["withdraw", "close"],
}
REASONS = {"request_correction": ["floor plan of the kitchen"], "not_accept": ["not a catering business"]}


async def act(samr: HubClient, case: CaseInfo, action: str, world: PermitWorld) -> CaseInfo:
    """Apply one action, supplying what it needs (opinions for a decision, materials for an approval)."""
    if action in ("approve", "reject"):
        verdict = "approve" if action == "approve" else "reject"
        for dept in ("SAMR", "FIRE", "MNR"):
            case = await world.officer(dept).record_opinion(case.id, verdict, comment="checked on site")
        if action == "approve":
            for dataset, key in world.keys.items():
                await samr.attach_material(case.id, dataset, key)
    return await samr.transition_case(case.id, action, case.version, reasons=REASONS.get(action, ()))


async def case_in(world: PermitWorld, state: CaseState) -> CaseInfo:
    samr = world.officer("SAMR")
    case = await samr.create_case(ITEM, world.keys["business_licence"], parties=world.parties)
    for action in PATHS[state]:
        case = await act(samr, case, action, world)
    assert case.state == state.value
    return case
