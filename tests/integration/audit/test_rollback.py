"""A hub whose database was restored from an older backup refuses to start, naming the checkpoint it is
behind; one whose log does not extend the newest checkpoint it signed refuses too."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from exchange.audit.entry import AccessLogEntry
from exchange.audit.high_water import FILE_NAME, read_high_water
from exchange.clock import now_us
from exchange.errors import FailedPrecondition
from exchange.server import start_hub
from exchange.testing import HubFixture, start_test_hub


async def _append(hub: HubFixture, count: int, tag: str) -> None:
    for i in range(count):
        await hub.hub.record(AccessLogEntry(time_us=now_us(), action="exchange.fetch", subject_id=f"{tag}-{i}"))


def _backup(database: Path, to: Path) -> None:
    """An online SQLite backup, as `sqlite3 .backup` takes it."""
    with sqlite3.connect(database) as source, sqlite3.connect(to) as target:
        source.backup(target)


def _restore(backup: Path, database: Path) -> None:
    for stale in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        stale.unlink(missing_ok=True)
    _backup(backup, database)


async def test_a_restored_older_backup_is_refused_naming_the_checkpoint_it_is_behind(tmp_path: Path) -> None:
    hub = await start_test_hub(tmp_path / "hub")
    database = hub.settings.data_dir / "exchange.db"
    await _append(hub, 5, "before")
    _backup(database, tmp_path / "old.db")
    await _append(hub, 7, "after")
    signed = await hub.hub.access_log.sign_checkpoint()
    settings = hub.settings
    await hub.stop()
    mark = read_high_water(settings.data_dir / FILE_NAME)
    assert mark is not None and mark.size >= signed.checkpoint.size

    _restore(tmp_path / "old.db", database)
    with pytest.raises(FailedPrecondition) as refused:
        await start_hub(settings)
    assert refused.value.reason == "LOG_ROLLED_BACK"
    assert f"checkpoint of size {mark.size}" in refused.value.message
    assert "older backup" in refused.value.message


async def test_a_log_with_another_history_is_refused(tmp_path: Path) -> None:
    hub = await start_test_hub(tmp_path / "hub")
    database = hub.settings.data_dir / "exchange.db"
    _backup(database, tmp_path / "empty.db")
    await _append(hub, 6, "real")
    await hub.hub.access_log.sign_checkpoint()
    settings = hub.settings
    await hub.stop()
    mark_file = settings.data_dir / FILE_NAME
    kept = mark_file.read_bytes()

    # The old database, grown past the signed size with other entries by a hub without the record.
    _restore(tmp_path / "empty.db", database)
    mark_file.unlink()
    other = HubFixture(await start_hub(settings), settings)
    await _append(other, 20, "forged")
    await other.running.stop(grace=1.0)
    mark_file.write_bytes(kept)

    with pytest.raises(FailedPrecondition) as refused:
        await start_hub(settings)
    assert refused.value.reason == "LOG_FORKED"


async def test_a_normal_restart_passes_and_the_record_only_grows(tmp_path: Path) -> None:
    hub = await start_test_hub(tmp_path / "hub")
    await _append(hub, 3, "x")
    first = await hub.hub.access_log.sign_checkpoint()
    settings = hub.settings
    await hub.stop()
    again = HubFixture(await start_hub(settings), settings)
    try:
        mark = read_high_water(settings.data_dir / FILE_NAME)
        assert mark is not None and mark.size >= first.checkpoint.size
        await _append(again, 2, "y")
        second = await again.hub.access_log.sign_checkpoint()
        grown = read_high_water(settings.data_dir / FILE_NAME)
        assert grown is not None and grown.size == second.checkpoint.size > first.checkpoint.size
    finally:
        await again.stop()
