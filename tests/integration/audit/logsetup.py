"""Helpers for the access log tests: entries through the hub's own log, stored rows, the CLI."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from adapters.sdk import Adapter
from adapters.server import RunningAdapter, start_provider
from adapters.signing import DocumentSigner
from catalog.model import Dataset
from exchange.audit.entry import AccessLogEntry
from exchange.cli import cli
from exchange.testing import HubFixture

from ..adapters.hubsetup import CONSUMER, catalog_for_restaurants, grant, open_case

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


async def exchange_cli_here(*args: str) -> tuple[int, str, str]:
    """Run the `exchange` command in this process, on a thread with its own event loop (no start-up cost)."""
    result = await asyncio.to_thread(CliRunner().invoke, cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


LICENCE_KEY = "91110105MA01XXXXX0"
LICENCE_FIELDS = ("unified_social_credit_code", "name", "status")
_LICENCE = {
    "unified_social_credit_code": LICENCE_KEY,
    "name": "Golden Dragon Noodle House",
    "company_type": "limited liability company",
    "legal_representative": "Li Wei",
    "established_on": "2019-03-01",
    "address": "1 Chang'an Avenue",
    "registration_authority": "Beijing SAMR",
    "status": "01",
    "licence_id": "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
}


class LicenceAdapter(Adapter):
    """SAMR's adapter in miniature: one business licence, served through the real Provider server."""

    async def lookup(self, dataset: Dataset, key: str) -> dict[str, Any] | None:
        return dict(_LICENCE) if key == LICENCE_KEY else None


async def licence_world(hub: HubFixture) -> tuple[RunningAdapter, str]:
    """SAMR with a loopback adapter, a consumer granted the licence, and an open case: (adapter, case id)."""
    samr = await hub.add_department("SAMR")
    for code in (CONSUMER, "PSB", "MNR", "FIRE"):
        await hub.add_department(code)
    await catalog_for_restaurants(hub)
    dataset = await hub.running.registry.get_dataset("business_licence")
    adapter = await start_provider(
        LicenceAdapter("SAMR", [dataset]),
        DocumentSigner("SAMR", samr.signing_kid, samr.signing_key),
        listen="127.0.0.1:0",
        tls=hub.adapter_tls("SAMR"),
    )
    await hub.add_department("SAMR", adapter_endpoint=f"127.0.0.1:{adapter.port}")
    await grant(hub, "business_licence", LICENCE_FIELDS)
    return adapter, await open_case(hub, "restaurant_permit", CONSUMER, LICENCE_KEY)
