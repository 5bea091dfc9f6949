"""Stored specs are parsed once per distinct text, yet every read still sees the newest stored row."""

from __future__ import annotations

from catalog.model import DatasetStatus
from exchange.testing import HubFixture, system_caller


async def test_a_status_change_is_seen_on_the_next_read_though_parsing_is_cached(hub: HubFixture) -> None:
    await hub.add_department("SAMR")
    await hub.register_example_dataset("business_licence")
    registry = hub.running.registry
    first, again = await registry.get_dataset("business_licence"), await registry.get_dataset("business_licence")
    assert first is again  # the same stored text parsed once
    await registry.set_dataset_status("business_licence", "deprecated", system_caller())
    changed = await registry.get_dataset("business_licence")
    assert changed.status == DatasetStatus.DEPRECATED
    assert first.status == DatasetStatus.PUBLISHED  # shared objects are frozen, so the old one is untouched
