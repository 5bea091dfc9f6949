"""Helpers for the access log tests: entries through the hub's own log, stored rows, the CLI."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from exchange.audit.entry import AccessLogEntry
from exchange.testing import HubFixture

EXCHANGE = str(Path(sys.executable).with_name("exchange"))
CITIZEN = "110101199001011234"


async def fill(hub: HubFixture, count: int, *, department: str = "SAMR", start: int = 0) -> None:
    """Append entries through the hub's own log, the path every fetch takes."""
    for i in range(start, start + count):
        await hub.hub.record(
            AccessLogEntry(
                time_us=1_800_000_000_000_000 + i,
                request_id=f"r{i}",
                action="exchange.fetch",
                caller_department=department,
                officer_id=f"officer-{i % 3}",
                officer_role="officer",
                dataset="identity_record",
                subject_id=CITIZEN if i % 2 == 0 else "other",
                case_id=f"case-{i % 4}",
                decision="allow" if i % 5 else "deny",
                reason="" if i % 5 else "NO_GRANT",
            )
        )


async def exchange_cli(*args: str) -> tuple[int, str, str]:
    """Run the `exchange` command in a subprocess; return its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        EXCHANGE, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()
