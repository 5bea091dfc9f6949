"""Fail closed: when the access log cannot be written, a fetch fails with UNAVAILABLE and returns nothing."""

from __future__ import annotations

import grpc
import pytest
import sqlalchemy as sa

from exchange.errors import ExchangeError
from exchange.testing import HubFixture

from .logsetup import CONSUMER, LICENCE_KEY, licence_world


async def _rename(hub: HubFixture, old: str, new: str) -> None:
    async with hub.hub.db.begin() as conn:
        await conn.execute(sa.text(f"ALTER TABLE {old} RENAME TO {new}"))


async def test_no_document_leaves_the_hub_when_its_log_entry_cannot_be_committed(any_backend_hub: HubFixture) -> None:
    hub = any_backend_hub
    adapter, case_id = await licence_world(hub)
    try:
        client = hub.client(CONSUMER)
        first = await client.fetch("business_licence", LICENCE_KEY, case_id=case_id)
        size, _ = await hub.hub.access_log.head()
        assert first.receipt.index == size - 1

        # The log's table is gone from the real database (SQLite file or PostgreSQL): no entry can be written.
        await _rename(hub, "log_entries", "log_entries_away")
        with pytest.raises(ExchangeError) as caught:
            await client.fetch("business_licence", LICENCE_KEY, case_id=case_id)
        assert caught.value.grpc_code == grpc.StatusCode.UNAVAILABLE
        assert caught.value.reason == "ACCESS_LOG_UNAVAILABLE"
        assert "nothing was returned" in caught.value.message
        assert (await hub.hub.access_log.head())[0] == size

        # Once the log can be written again, the next fetch gets the next index: nothing was half-written.
        await _rename(hub, "log_entries_away", "log_entries")
        again = await client.fetch("business_licence", LICENCE_KEY, case_id=case_id)
        assert again.receipt.index == size and again.data == first.data
    finally:
        await adapter.stop(grace=0.5)
