"""Shared fixtures: a real hub on loopback (SQLite by default, PostgreSQL where a test asks for it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from exchange.testing import HubFixture, create_pg_database, drop_pg_database, start_test_hub


@pytest.fixture
async def hub(tmp_path) -> AsyncIterator[HubFixture]:
    """A hub on SQLite in a temporary directory, with the hub operator department registered."""
    fixture = await start_test_hub(tmp_path / "hub")
    try:
        yield fixture
    finally:
        await fixture.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_backend_hub(request, tmp_path) -> AsyncIterator[HubFixture]:
    """The same hub on each storage backend in turn."""
    fixture = await start_test_hub(tmp_path / "hub", backend=request.param)
    try:
        yield fixture
    finally:
        await fixture.stop()


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """The URL of a PostgreSQL database of its own, for hub processes (they cannot be handed a schema)."""
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)
