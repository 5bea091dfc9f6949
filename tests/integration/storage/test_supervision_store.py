"""Each supervision event is claimed once, however many replicas race for it, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from exchange.storage import supervision_store
from exchange.storage.supervision_store import SentEvent
from exchange.testing import HubFixture


async def test_racing_claims_of_one_event_let_exactly_one_send_it(any_backend_hub: HubFixture) -> None:
    db = any_backend_hub.running.hub.db
    event = SentEvent("warning", "case-1", "red:1747411199999999", "SAMR", "SAMR", 1, {"level": "red"})

    async def claim() -> bool:
        async with db.begin() as conn:
            return await supervision_store.claim(conn, event)

    results = await asyncio.gather(*(claim() for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
    async with db.read() as conn:
        sent = await supervision_store.list_sent(conn, kind="warning", owner="SAMR")
    assert sent == [event]


async def test_sent_events_are_listed_by_every_filter_given_in_a_half_open_time_window(hub: HubFixture) -> None:
    db = hub.running.hub.db
    events = [
        SentEvent("warning", "case-1", "yellow", "SAMR", "SAMR", 10, {}),
        SentEvent("warning", "case-2", "yellow", "FIRE", "FIRE", 20, {}),
        SentEvent("escalation", "case-1", "red", "HUB", "SAMR", 30, {}),
    ]
    async with db.begin() as conn:
        for event in events:
            assert await supervision_store.claim(conn, event)
    async with db.read() as conn:
        assert await supervision_store.list_sent(conn) == events
        assert await supervision_store.list_sent(conn, since_us=10, until_us=30) == events[:2]
        assert await supervision_store.list_sent(conn, kind="warning", since_us=11) == events[1:2]
        assert await supervision_store.list_sent(conn, owner="SAMR", reference="case-1") == [events[0], events[2]]
        assert await supervision_store.list_sent(conn, kind="escalation", until_us=30) == []
