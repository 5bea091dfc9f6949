"""Fetches keep the current dataset versions in memory: this replica's changes are seen at once,
another replica's after the next keyring reload."""

from __future__ import annotations

import asyncio
import dataclasses

from catalog.model import DatasetStatus
from exchange.clock import now_us
from exchange.hub import KEYRING_RELOAD_SECONDS
from exchange.storage import catalog_store
from exchange.testing import HubFixture, system_caller


async def test_a_status_change_on_this_replica_is_seen_by_the_next_fetch(hub: HubFixture) -> None:
    await hub.add_department("SAMR")
    await hub.register_example_dataset("business_licence")
    registry = hub.running.registry
    first = await registry.current_dataset("business_licence")
    assert await registry.current_dataset("business_licence") is first
    await registry.set_dataset_status("business_licence", "deprecated", system_caller())
    assert (await registry.current_dataset("business_licence")).status == DatasetStatus.DEPRECATED


async def test_a_change_written_by_another_replica_is_seen_after_the_keyring_reload(hub: HubFixture) -> None:
    await hub.add_department("SAMR")
    await hub.register_example_dataset("business_licence")
    registry = hub.running.registry
    current = await registry.current_dataset("business_licence")
    withdrawn = dataclasses.replace(current, status=DatasetStatus.DEPRECATED)
    # Another replica writes the row: this one's registry is not told.
    async with hub.hub.db.begin() as conn:
        await catalog_store.put_dataset_version(conn, withdrawn, now_us(), "other-replica")
    loop = asyncio.get_running_loop()
    give_up = loop.time() + KEYRING_RELOAD_SECONDS + 5
    while (await registry.current_dataset("business_licence")).status != DatasetStatus.DEPRECATED:
        assert loop.time() < give_up, "the cached dataset outlived the keyring reload"
        await asyncio.sleep(0.2)
