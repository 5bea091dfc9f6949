"""Set-up shared by the adapter tests that go through a real hub: departments, catalog, grants, an open case."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from catalog.model import Dataset
from catalog.specs import parse_dataset
from catalog.yaml_io import load_spec_file
from exchange.auth.keys import key_id, write_private_key
from exchange.clock import now_us
from exchange.demo.departments import exchange_command
from exchange.storage import tables as t
from exchange.testing import EXAMPLES, HubFixture, system_caller

RESTAURANT_DATASETS = ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate")
CONSUMER = "SVC"


async def open_case(hub: HubFixture, service_item: str, lead: str, applicant: str, *others: str) -> str:
    """An open case led by lead (rows written directly: the adapters tests need only what authz reads)."""
    case_id = f"c-{uuid.uuid4().hex[:16]}"
    now = now_us()
    async with hub.hub.db.begin() as conn:
        await conn.execute(
            sa.insert(t.cases).values(
                id=case_id,
                service_item=service_item,
                applicant_id=applicant,
                lead_department=lead,
                state="in_review",
                version=1,
                submitted_at_us=now,
                updated_at_us=now,
                case_json=json.dumps({"id": case_id}),
            )
        )
        for department in (lead, *others):
            await conn.execute(
                sa.insert(t.case_departments).values(case_id=case_id, department=department, role="lead")
            )
    return case_id


async def grant(hub: HubFixture, dataset: str, fields: tuple[str, ...], consumer: str = CONSUMER) -> None:
    """The dataset's owner grants consumer the fields for any purpose."""
    await hub.running.registry.create_grant(system_caller(), consumer=consumer, dataset=dataset, fields=fields)


async def catalog_for_restaurants(hub: HubFixture) -> None:
    """The restaurant permit's four datasets, the enterprise register and the service item (led by SVC)."""
    for name in (*RESTAURANT_DATASETS, "enterprise_register"):
        await hub.register_example_dataset(name)
    await hub.register_example_item("restaurant_permit", lead_department=CONSUMER)


@dataclass
class AdapterProcess:
    """An `exchange adapter serve` process on loopback."""

    process: asyncio.subprocess.Process
    port: int

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self) -> int:
        """SIGTERM (graceful stop) and the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await self.process.wait()


async def spawn_adapter(
    folder: Path,
    department: str,
    datasets: list[dict[str, Any]],
    signing_key: Ed25519PrivateKey,
    *,
    kid: str | None = None,
    env: dict[str, str] | None = None,
    command: list[str] | None = None,
    tls: dict[str, str] | None = None,
    log_file: Path | None = None,
    extra: dict[str, Any] | None = None,
) -> AdapterProcess:
    """Write an adapter config into folder and run it as its own process (command CONFIG).

    Plain-text dev mode unless tls (the config's tls section) is given; log_file keeps its stderr; extra
    holds more top-level settings.
    """
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / f"{department.lower()}-signing.pem"
    key_file.unlink(missing_ok=True)
    write_private_key(key_file, signing_key)
    config: dict[str, Any] = {
        "department": department,
        **({"tls": tls} if tls else {"insecure_dev": True}),
        "signing": {"key_file": key_file.name, "kid": kid or key_id(signing_key.public_key())},
        "datasets": datasets,
        **(extra or {}),
    }
    path = folder / f"{department.lower()}-adapter.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    argv = [str(path)] if command else ["adapter", "serve", "--config", str(path), "--listen", "127.0.0.1:0"]
    stderr = log_file.open("ab") if log_file else None
    try:
        process = await asyncio.create_subprocess_exec(
            *(command or exchange_command()),
            *argv,
            cwd=folder,
            env={**os.environ, **(env or {})},
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr or asyncio.subprocess.DEVNULL,
        )
    finally:
        if stderr is not None:
            stderr.close()  # the process has its own copy
    assert process.stdout is not None
    async with asyncio.timeout(30):
        line = (await process.stdout.readline()).decode()
    match = re.search(r"serving on port (\d+)", line)
    if match is None:
        process.kill()
        await process.wait()
        raise AssertionError(f"adapter {department} did not start: {line!r}")
    return AdapterProcess(process, int(match.group(1)))


def example_dataset(name: str) -> Dataset:
    """A dataset from examples/catalog, parsed (not registered)."""
    return parse_dataset(load_spec_file(EXAMPLES / "catalog" / "datasets" / f"{name}.yaml")["spec"])


def spec_path(name: str) -> str:
    """The example spec file of a dataset."""
    return str(EXAMPLES / "catalog" / "datasets" / f"{name}.yaml")
