"""The pure parts under the case desk: the stored case record, material validity, single-flight."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from catalog.model import RequiredMaterial, ServiceItem
from exchange.cases.calendar import WorkingCalendar
from exchange.cases.codec import case_from_json, case_to_json
from exchange.cases.materials import (
    Material,
    MaterialStatus,
    missing_mandatory,
    refuse_if_not_valid,
    required_material,
)
from exchange.cases.model import Actor, accept, open_case, record_opinion, request_correction, start_review
from exchange.cases.review import Verdict
from exchange.cases.singleflight import SingleFlight
from exchange.errors import DataLoss, FailedPrecondition, NotFound

LEAD = Actor("SAMR", "li")
NOW = datetime(2026, 4, 29, 2, tzinfo=UTC)
ITEM = ServiceItem(
    "restaurant_permit",
    "Permit",
    "SAMR",
    10,
    ("FIRE",),
    (RequiredMaterial("business_licence", ("name",)), RequiredMaterial("floor_plan", ("area",), mandatory=False)),
)


def test_a_case_survives_storage_whole() -> None:
    case = open_case(
        case_id="c-1",
        service_item="restaurant_permit",
        applicant_id="91110105MA01",
        applicant_kind="organisation",
        lead_department="SAMR",
        reviewers=["FIRE"],
        by=LEAD,
        now=NOW,
    )
    case = accept(case, LEAD, NOW, WorkingCalendar(), 10)
    case = start_review(case, LEAD, NOW)
    case = record_opinion(case, "FIRE", "wang", Verdict.REJECT, "no exit", NOW)
    case = request_correction(case, LEAD, NOW, ["exit plan"])
    assert case_from_json(case_to_json(case)) == case


def test_an_unreadable_case_record_is_data_loss() -> None:
    with pytest.raises(DataLoss) as broken:
        case_from_json('{"id": "c-1"}')
    assert broken.value.reason == "CASE_RECORD_CORRUPT"


def material(**changes: object) -> Material:
    values: dict[str, object] = dict(
        case_id="c-1",
        dataset="business_licence",
        key="K",
        version=1,
        digest="d",
        fields=("name",),
        issuer="SAMR",
        dataset_version="1.0",
        issued_at_us=1,
        kid="k",
        signature=b"s",
        content_digest="c",
        fetched_at_us=1,
        fetched_by="SAMR/li",
        valid_until_us=0,
        status_code="01",
        current=True,
    )
    values.update(changes)
    return Material(**values)  # type: ignore[arg-type]


def test_a_material_no_longer_valid_is_named_in_the_refusal() -> None:
    refuse_if_not_valid(material(), MaterialStatus(True, True, "01", 0))
    with pytest.raises(FailedPrecondition) as revoked:
        refuse_if_not_valid(material(), MaterialStatus(True, False, "03", 0))
    assert revoked.value.reason == "MATERIAL_NO_LONGER_VALID"
    assert "business_licence" in revoked.value.message and "status 03" in revoked.value.message
    with pytest.raises(FailedPrecondition, match="no longer has"):
        refuse_if_not_valid(material(), MaterialStatus(False, False, "", 0))


def test_expiry_and_required_materials() -> None:
    assert material(valid_until_us=10).expired_at(10) and not material(valid_until_us=0).expired_at(10**18)
    assert missing_mandatory(ITEM, set()) == ("business_licence",)
    assert missing_mandatory(ITEM, {"business_licence"}) == ()
    required_material(ITEM, "floor_plan", "c-1")
    with pytest.raises(NotFound) as unneeded:
        required_material(ITEM, "criminal_record", "c-1")
    assert unneeded.value.reason == "MATERIAL_NOT_REQUIRED"


async def test_single_flight_runs_concurrent_calls_once_and_shares_failures() -> None:
    flights: SingleFlight[int] = SingleFlight()
    release = asyncio.Event()
    runs = 0

    async def work() -> int:
        nonlocal runs
        runs += 1
        await release.wait()
        return 42

    calls = [asyncio.create_task(flights.run("k", work)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*calls)
    assert runs == 1 and [r for r, _ in results] == [42] * 5 and sum(ran for _, ran in results) == 1
    assert not flights.in_flight("k")

    async def fail() -> int:
        await asyncio.sleep(0)
        raise NotFound("gone", reason="KEY_NOT_FOUND")

    failing = [asyncio.create_task(flights.run("k", fail)) for _ in range(3)]
    outcomes = await asyncio.gather(*failing, return_exceptions=True)
    assert all(isinstance(o, NotFound) for o in outcomes)


async def test_single_flight_goes_on_for_the_others_when_its_starter_gives_up() -> None:
    flights: SingleFlight[str] = SingleFlight()
    release = asyncio.Event()

    async def work() -> str:
        await release.wait()
        return "fetched"

    starter = asyncio.create_task(flights.run("k", work))
    await asyncio.sleep(0)
    joiner = asyncio.create_task(flights.run("k", work))
    await asyncio.sleep(0)
    starter.cancel()
    release.set()
    assert await joiner == ("fetched", False)
    assert starter.cancelled()
