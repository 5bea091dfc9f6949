"""One access-log entry that cannot be stored fails only its own caller; the rest of its batch commits."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
import sqlalchemy as sa

from catalog import limits
from exchange.audit.entry import AccessLogEntry
from exchange.audit.log import Receipt
from exchange.errors import Unavailable
from exchange.testing import HubFixture

POISON = "POISONED_ENTRY"


def honest(i: int) -> AccessLogEntry:
    return AccessLogEntry(
        time_us=1_800_000_000_000_000 + i,
        request_id=f"honest-{i}",
        action="exchange.fetch",
        caller_department="SAMR",
        officer_id="officer-1",
        dataset="business_licence",
        subject_id="91110105MA01XXXXXX",
        case_id="c-0123456789abcdef0123",
    )


async def refuse_poisoned_rows(hub: HubFixture) -> None:
    """A real trigger in the real database refuses one kind of row, the way a constraint would."""
    statements = {
        "sqlite": [
            f"CREATE TRIGGER refuse_poison BEFORE INSERT ON log_entries WHEN NEW.reason = '{POISON}' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned entry'); END"
        ],
        "postgresql": [
            "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.reason = '{POISON}' THEN RAISE EXCEPTION 'poisoned entry'; END IF; RETURN NEW; END "
            "$$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON log_entries FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
        ],
    }[hub.hub.db.dialect]
    async with hub.hub.db.begin() as conn:
        for statement in statements:
            await conn.execute(sa.text(statement))


async def appended(hub: HubFixture, entry: AccessLogEntry) -> Receipt | Exception:
    try:
        return await hub.hub.record(entry)
    except Unavailable as error:
        return error


async def test_an_entry_the_database_refuses_fails_only_its_own_caller(any_backend_hub: HubFixture) -> None:
    hub = any_backend_hub
    await refuse_poisoned_rows(hub)
    size, _ = await hub.hub.access_log.head()
    entries = [honest(i) for i in range(12)]
    entries.insert(5, dataclasses.replace(honest(99), reason=POISON, decision="deny"))

    # Queued together, so they share one group commit (which the poisoned row makes fail).
    results = await asyncio.gather(*(appended(hub, entry) for entry in entries))

    failed = [r for r in results if not isinstance(r, Receipt)]
    assert len(failed) == 1 and isinstance(results[5], Unavailable)
    assert results[5].reason == "ACCESS_LOG_UNAVAILABLE"
    receipts = [r for r in results if isinstance(r, Receipt)]
    # The honest entries committed in their order, at contiguous indices, and nothing else did.
    assert [r.index for r in receipts] == list(range(size, size + 12))
    assert (await hub.hub.access_log.head())[0] == size + 12
    stored = await hub.log_entries()
    assert [e.request_id for e in stored[size:]] == [f"honest-{i}" for i in range(12)]


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("case_id", "c" * 50, limits.CASE_ID),
        ("officer_id", "o" * 200, limits.OFFICER_ID),
        ("subject_id", "9111\x00010", limits.SUBJECT_ID),
        ("message", "m" * 10_000, limits.LOG_MESSAGE),
        ("reason", "R" * 100, limits.REASON_CODE),
    ],
)
async def test_the_recorder_bounds_what_it_writes_instead_of_failing_the_batch(
    any_backend_hub: HubFixture, field: str, value: str, limit: limits.Limit
) -> None:
    hub = any_backend_hub
    size, _ = await hub.hub.access_log.head()
    entries = [honest(i) for i in range(4)]
    values: dict[str, Any] = {field: value, "request_id": "bounded"}
    entries.insert(2, dataclasses.replace(honest(50), **values))

    results = await asyncio.gather(*(appended(hub, entry) for entry in entries))

    assert all(isinstance(r, Receipt) for r in results)
    stored = {e.request_id: e for e in (await hub.log_entries())[size:]}
    kept = getattr(stored["bounded"], field)
    assert len(kept) <= limit.max_length and limit.problem(kept) is None
    assert kept == limit.clean(value)
