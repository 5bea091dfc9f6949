"""Fail closed: when the access log cannot be written, a fetch fails with UNAVAILABLE and returns nothing."""

from __future__ import annotations

import sqlite3

import grpc
import pytest

from catalog.errors import ExchangeError
from exchange.testing import HubFixture

from .logsetup import CONSUMER, LICENCE_KEY, licence_world

REFUSE_INSERTS = (
    "CREATE TRIGGER log_full BEFORE INSERT ON log_entries BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
)


async def test_no_document_leaves_the_hub_when_its_log_entry_cannot_be_committed(hub: HubFixture) -> None:
    adapter, case_id = await licence_world(hub)
    try:
        client = hub.client(CONSUMER)
        first = await client.fetch("business_licence", LICENCE_KEY, case_id=case_id)
        size, _ = await hub.hub.access_log.head()
        assert first.receipt.index == size - 1

        # The real SQLite file refuses every new log row, as a full disk would.
        database = hub.settings.data_dir / "exchange.db"
        with sqlite3.connect(database) as conn:
            conn.execute(REFUSE_INSERTS)
        with pytest.raises(ExchangeError) as caught:
            await client.fetch("business_licence", LICENCE_KEY, case_id=case_id)
        assert caught.value.grpc_code == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        assert caught.value.reason == "ACCESS_LOG_UNAVAILABLE"
        assert "nothing was returned" in caught.value.message
        assert (await hub.hub.access_log.head())[0] == size

        # Once the log can be written again, the next fetch gets the next index: nothing was half-written.
        with sqlite3.connect(database) as conn:
            conn.execute("DROP TRIGGER log_full")
        again = await client.fetch("business_licence", LICENCE_KEY, case_id=case_id)
        assert again.receipt.index == size and again.data == first.data
    finally:
        await adapter.stop(grace=0.5)
