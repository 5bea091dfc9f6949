"""NotificationService.Subscribe through a real mTLS hub: in order, resumable, one department's events only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio

from exchange.auth.identity import Role
from exchange.client import EventInfo, HubClient
from exchange.clock import now_us
from exchange.errors import InvalidArgument
from exchange.events import Event, EventKind
from exchange.testing import HubFixture, start_test_hub

DEPT = "SVC"
OTHER = "FIRE"


@pytest_asyncio.fixture
async def hub(tmp_path) -> AsyncIterator[HubFixture]:
    fixture = await start_test_hub(tmp_path, notification_poll_seconds=0.05)
    try:
        await fixture.add_department(DEPT)
        await fixture.add_department(OTHER)
        yield fixture
    finally:
        await fixture.stop()


async def publish(hub: HubFixture, department: str, reference: str, kind: EventKind = EventKind.WARNING) -> None:
    await hub.hub.events.publish(Event(kind, department, reference, now_us(), {"level": "yellow"}))


async def take(client: HubClient, count: int, **options: object) -> list[EventInfo]:
    """The first `count` events of a fresh stream, then hang up."""
    got: list[EventInfo] = []
    async with asyncio.timeout(30):
        async for event in client.subscribe(**options):  # type: ignore[arg-type]
            got.append(event)
            if len(got) == count:
                break
    return got


async def test_stream_gives_the_departments_events_in_order_then_new_ones_as_they_happen(hub: HubFixture) -> None:
    officer = hub.client(DEPT)
    await publish(hub, DEPT, "c-1")
    await publish(hub, OTHER, "c-other")
    await publish(hub, DEPT, "c-2")
    reading = asyncio.create_task(take(officer, 3))
    await asyncio.sleep(0)  # the stream may open before or after the next event: both must deliver it
    await publish(hub, OTHER, "c-other-2")
    await publish(hub, DEPT, "c-3")
    events = await reading
    assert [e.reference for e in events] == ["c-1", "c-2", "c-3"]
    assert {e.department for e in events} == {DEPT}
    assert events[0].id < events[1].id < events[2].id
    assert events[0].data == {"level": "yellow"}


async def test_stream_resumes_after_the_last_event_seen(hub: HubFixture) -> None:
    officer = hub.client(DEPT)
    for ref in ("c-1", "c-2", "c-3"):
        await publish(hub, DEPT, ref)
    first = await take(officer, 2)  # then the connection drops
    await publish(hub, DEPT, "c-4")
    rest = await take(officer, 2, after_event_id=first[-1].id)
    assert [e.reference for e in first + rest] == ["c-1", "c-2", "c-3", "c-4"]


async def test_stream_filters_by_kind(hub: HubFixture) -> None:
    officer = hub.client(DEPT)
    await publish(hub, DEPT, "r-1", EventKind.REMINDER)
    await publish(hub, DEPT, "t-1", EventKind.TICKET)
    (event,) = await take(officer, 1, kinds=["ticket"])
    assert (event.kind, event.reference) == ("ticket", "t-1")


async def test_another_departments_events_never_reach_a_stream(hub: HubFixture) -> None:
    for ref in ("o-1", "o-2"):
        await publish(hub, OTHER, ref)
    await publish(hub, DEPT, "c-1")
    other = hub.client(OTHER, officer="admin-2", roles=(Role.DEPT_ADMIN,))
    mine = await take(hub.client(DEPT), 1)
    theirs = await take(other, 2)
    assert [e.reference for e in mine] == ["c-1"]
    assert [e.reference for e in theirs] == ["o-1", "o-2"]


async def test_unknown_kind_is_refused_and_logged(hub: HubFixture) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await take(hub.client(DEPT), 1, kinds=["gossip"])
    assert refused.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.reason == "EVENT_KIND_UNKNOWN"
    entry = (await hub.log_entries())[-1]
    assert (entry.action, entry.decision, entry.reason, entry.outcome, entry.caller_department) == (
        "notifications.subscribe",
        "deny",
        "EVENT_KIND_UNKNOWN",
        "INVALID_ARGUMENT",
        DEPT,
    )
