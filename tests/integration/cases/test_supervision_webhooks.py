"""The done-when of 电子监察 end to end: a request and a case pass their limits across Labour Day, a weekend
and the make-up Saturday on a controlled clock, and the departments' own HTTPS receivers get the reminders,
the escalation and the warnings from the hub's durable outbox, signed, each once, verified by the client's
helper (no stand-in publisher)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from exchange.auth.identity import Role
from exchange.client import verify_webhook
from exchange.testing import ensure_test_pki
from tests.integration.cases.conftest import ITEM, PermitWorld, build_world, stop_world
from tests.integration.cases.test_deadlines_rpc import at, end_of
from tests.integration.cases.test_supervision import Clock, ask_identity, configure
from tests.integration.notifications.receiver import Receiver, start_receiver


@pytest_asyncio.fixture
async def hooked(tmp_path: Path) -> AsyncIterator[tuple[PermitWorld, Receiver]]:
    pki = ensure_test_pki(tmp_path / "hub")
    world = await build_world(
        tmp_path,
        webhook_ca_file=str(pki / "ca.crt"),
        webhook_retry_seconds=0.05,
        webhook_retry_max_seconds=0.2,
        notification_poll_seconds=0.05,
    )
    receiver = await start_receiver(pki)
    try:
        yield world, receiver
    finally:
        await receiver.close()
        await stop_world(world)


async def test_limits_passed_across_a_holiday_reach_the_departments_webhooks_signed(
    hooked: tuple[PermitWorld, Receiver],
) -> None:
    world, receiver = hooked
    configure(world, access_request_days=3, reminder_working_days=2, yellow_working_days=1)
    clock = Clock(world, at(4, 29))  # Wednesday before the holiday (1-5 May 2026)
    supervisor = world.hub.running.app.supervisor
    secrets = {}
    for department in ("PSB", "SAMR", "HUB"):
        admin = world.hub.client(department, officer=f"{department.lower()}-admin", roles=(Role.DEPT_ADMIN,))
        if department == "HUB":
            admin = world.hub.client("HUB", officer="hub-admin", roles=(Role.HUB_ADMIN,))
        made = await admin.set_webhook(receiver.url, kinds=["reminder", "escalation", "warning"])
        secrets[department] = made.secret

    tax = world.hub.client("TAX", roles=(Role.DEPT_ADMIN,))
    request = (await tax.call(tax._stubs.access.CreateAccessRequest, ask_identity())).request
    assert request.answer_due_us == end_of(5, 7)  # 30 April, 6 and 7 May
    samr = world.officer("SAMR")
    case = await samr.create_case(ITEM, world.keys["business_licence"], parties=world.parties)
    case = await samr.transition_case(case.id, "accept", case.version)
    assert case.deadline_us == end_of(5, 15)

    for month, day in ((4, 30), (5, 2), (5, 6), (5, 8), (5, 8), (5, 14), (5, 15), (5, 16), (5, 18)):
        clock.now = at(month, day)
        await supervisor.tick()

    deliveries = await receiver.wait_for(5)
    seen: set[str] = set()
    got = []
    for delivery in deliveries:
        department = json.loads(delivery.body)["department"]  # which department's secret signed it
        event = verify_webhook(delivery.body, delivery.headers, secrets[department], seen=seen)
        got.append((event["kind"], event["department"], event["reference"], event.get("data", {}).get("level")))
    assert sorted(got) == sorted(
        [
            ("reminder", "PSB", request.id, None),
            ("escalation", "HUB", request.id, None),
            ("reminder", "SAMR", case.id, None),
            ("warning", "SAMR", case.id, "yellow"),
            ("warning", "SAMR", case.id, "red"),
        ]
    )
    assert len(receiver.deliveries) == 5  # each event once
