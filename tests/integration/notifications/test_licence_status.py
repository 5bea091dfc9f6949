"""A licence's status changes at its issuer's real adapter process: the open case holding it is flagged, its
department's webhook receiver gets the signed event, and the change is in the access log. Pushed over
Provider.WatchStatus when the adapter re-reads its source; found by the hub's Status poll when nothing is pushed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pyarrow.parquet as pq
import pytest
import pytest_asyncio

from catalog.specs import parse_service_item
from exchange.auth.identity import Role
from exchange.auth.keys import generate_ed25519
from exchange.client import HubClient, verify_webhook
from exchange.errors import PermissionDenied
from exchange.testing import HubFixture, ensure_test_pki, start_test_hub, system_caller
from tests.integration.adapters.hubsetup import CONSUMER, AdapterProcess, grant, spawn_adapter
from tests.integration.adapters.test_issuer_signatures import FIELDS, write_licences

from .receiver import Receiver, start_receiver

DATASET = "business_licence"


@dataclass
class World:
    hub: HubFixture
    adapter: AdapterProcess
    receiver: Receiver
    officer: HubClient
    secret: str
    case_id: str
    uscc: str
    parquet: Path


def set_status(parquet: Path, uscc: str, status: str) -> None:
    """The issuer's own data changes: the licence's status column is rewritten."""
    table = pq.read_table(parquet)
    rows = table.to_pylist()
    for row in rows:
        if row["unified_social_credit_code"] == uscc:
            row["status"] = status
    pq.write_table(table.from_pylist(rows, schema=table.schema), parquet)


async def build(tmp_path: Path, *, push_seconds: float, poll_seconds: float) -> World:
    pki = ensure_test_pki(tmp_path / "hub")
    hub = await start_test_hub(
        tmp_path / "hub",
        webhook_ca_file=str(pki / "ca.crt"),
        notification_poll_seconds=0.05,
        status_poll_seconds=poll_seconds,
    )
    parquet = tmp_path / "licences.parquet"
    suspended = write_licences(parquet)
    rows = pq.read_table(parquet).to_pylist()
    uscc = next(
        r["unified_social_credit_code"]
        for r in rows
        if r["status"] == "01"
        and r["unified_social_credit_code"] != suspended
        and (r["valid_until"] is None or r["valid_until"] > dt.date.today())
    )
    key = generate_ed25519()
    source = {"type": "files", "path": str(parquet), "key_column": "unified_social_credit_code"}
    spec = str(Path(__file__).parents[3] / "examples" / "catalog" / "datasets" / f"{DATASET}.yaml")
    adapter = await spawn_adapter(
        tmp_path / "samr",
        "SAMR",
        [{"dataset": DATASET, "version": "1.0", "spec": spec, "source": source}],
        key,
        tls=hub.adapter_tls_section("SAMR"),
        extra={"status_watch_seconds": push_seconds},
    )
    await hub.add_department("SAMR", adapter_endpoint=adapter.endpoint, signing_public_key=key.public_key())
    await hub.add_department(CONSUMER)
    await hub.add_department("FIRE")
    await hub.register_example_dataset(DATASET)
    item: dict[str, Any] = {"code": "licence_check", "name": "Licence check", "lead_department": CONSUMER}
    item.update(time_limit_days=5, required_materials=[{"dataset": DATASET, "fields": list(FIELDS)}])
    await hub.running.registry.register_service_item(parse_service_item(item), system_caller())
    await grant(hub, DATASET, FIELDS)
    officer = hub.client(CONSUMER)
    case_id = (await officer.create_case("licence_check", uscc)).id
    await officer.attach_material(case_id, DATASET, uscc)
    receiver = await start_receiver(pki)
    admin = hub.client(CONSUMER, officer="admin-1", roles=(Role.DEPT_ADMIN,))
    made = await admin.set_webhook(receiver.url, kinds=["licence_status"])
    return World(hub, adapter, receiver, officer, made.secret, case_id, uscc, parquet)


async def tear_down(world: World) -> None:
    await world.receiver.close()
    await world.adapter.stop()
    await world.hub.stop()


@pytest_asyncio.fixture
async def pushed(tmp_path: Path) -> AsyncIterator[World]:
    world = await build(tmp_path, push_seconds=0.1, poll_seconds=3600)
    try:
        yield world
    finally:
        await tear_down(world)


@pytest_asyncio.fixture
async def polled(tmp_path: Path) -> AsyncIterator[World]:
    world = await build(tmp_path, push_seconds=0, poll_seconds=0.2)
    try:
        yield world
    finally:
        await tear_down(world)


async def check_flagged_and_told(world: World, source: str) -> None:
    (delivery,) = await world.receiver.wait_for(1)
    event = verify_webhook(delivery.body, delivery.headers, world.secret)
    assert (event["kind"], event["department"], event["reference"]) == ("licence_status", CONSUMER, world.case_id)
    assert event["data"]["dataset"] == DATASET and event["data"]["status"] == "03"
    assert event["data"]["source"] == source
    assert world.uscc not in delivery.body.decode()  # events name the case, never the licence's key
    (flag,) = await world.officer.list_case_flags(world.case_id)
    assert (flag.dataset, flag.key, flag.status_code, flag.source) == (DATASET, world.uscc, "03", source)
    logged = [e for e in await world.hub.log_entries() if e.action == "cases.licence_status"]
    assert [(e.case_id, e.subject_id, e.dataset, e.reason, e.caller_department) for e in logged] == [
        (world.case_id, world.uscc, DATASET, "LICENCE_STATUS_CHANGED", "SAMR")
    ]


async def test_revocation_pushed_by_the_adapter_flags_the_open_case_and_tells_its_department(pushed: World) -> None:
    desk = pushed.hub.running.app.licences
    async with asyncio.timeout(30):
        while "SAMR" not in desk.connected:  # the hub's stream to the adapter is open
            await asyncio.sleep(0.05)
    set_status(pushed.parquet, pushed.uscc, "03")
    await check_flagged_and_told(pushed, "push")


async def test_with_nothing_pushed_the_hubs_status_poll_catches_the_revocation(polled: World) -> None:
    set_status(polled.parquet, polled.uscc, "03")
    await check_flagged_and_told(polled, "poll")


async def test_flags_of_a_case_are_refused_to_a_department_outside_it(polled: World) -> None:
    outsider = polled.hub.client("FIRE")
    with pytest.raises(PermissionDenied) as refused:
        await outsider.list_case_flags(polled.case_id)
    assert refused.value.grpc_code == grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.reason == "CASE_NOT_PARTICIPANT"
    entry = (await polled.hub.log_entries())[-1]
    assert (entry.action, entry.decision, entry.reason, entry.outcome, entry.caller_department) == (
        "cases.flags.list",
        "deny",
        "CASE_NOT_PARTICIPANT",
        "PERMISSION_DENIED",
        "FIRE",
    )
