"""Helpers to run a real hub on loopback in tests, benchmarks and the demo.

`HubFixture` starts a hub (SQLite file in a temporary directory, or a schema of its
own in PostgreSQL), registers departments with fresh keys, and hands out clients
that act as an officer or administrator of any of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from catalog.model import (
    AdminLevel,
    Department,
    DepartmentKey,
    KeyUse,
    load_spec_file,
    parse_dataset,
    parse_service_item,
)
from exchange.audit.entry import AccessLogEntry, decode_entry
from exchange.auth.identity import Caller, Role
from exchange.auth.keys import generate_ed25519, key_id, load_public_key, public_key_to_pem
from exchange.client import HubClient
from exchange.config import Settings, load_settings
from exchange.server import RunningHub, start_hub
from exchange.storage import tables as t

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
HUB_OPERATOR = "HUB"


def system_caller(department: str = HUB_OPERATOR) -> Caller:
    """The identity of the hub's own set-up code (init, demo, tests), as a hub admin."""
    return Caller(department, "system", frozenset({Role.HUB_ADMIN}), "system", 0)


@dataclass
class DepartmentKeys:
    code: str
    token_key: Ed25519PrivateKey
    signing_key: Ed25519PrivateKey
    # Set when the department signs documents elsewhere (an adapter process): the key registered instead.
    signing_public: Ed25519PublicKey | None = None

    @property
    def token_kid(self) -> str:
        return key_id(self.token_key.public_key())

    @property
    def signing_public_key(self) -> Ed25519PublicKey:
        return self.signing_public or self.signing_key.public_key()

    @property
    def signing_kid(self) -> str:
        return key_id(self.signing_public_key)

    def key_entries(self) -> tuple[DepartmentKey, ...]:
        return (
            DepartmentKey(self.token_kid, KeyUse.TOKEN, "EdDSA", public_key_to_pem(self.token_key)),
            DepartmentKey(self.signing_kid, KeyUse.SIGNING, "EdDSA", public_key_to_pem(self.signing_public_key)),
        )


@dataclass
class HubFixture:
    """A running hub plus the keys of the departments registered on it."""

    running: RunningHub
    settings: Settings
    pg_schema: str | None = None
    departments: dict[str, DepartmentKeys] = field(default_factory=dict)
    clients: list[HubClient] = field(default_factory=list)

    @property
    def hub(self) -> Any:
        return self.running.hub

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.running.grpc_port}"

    async def add_department(
        self,
        code: str,
        *,
        name: str | None = None,
        adapter_endpoint: str | None = None,
        signing_public_key: Ed25519PublicKey | str | None = None,
    ) -> DepartmentKeys:
        """Register code with fresh keys; signing_public_key (key or PEM) registers an adapter's own key."""
        keys = self.departments.get(code) or DepartmentKeys(code, generate_ed25519(), generate_ed25519())
        if signing_public_key is not None:
            public = load_public_key(signing_public_key) if isinstance(signing_public_key, str) else signing_public_key
            if not isinstance(public, Ed25519PublicKey):
                raise TypeError("a department's document-signing key is Ed25519")
            keys = replace(keys, signing_public=public)
        dept = Department(
            code=code,
            name=name or f"Department {code}",
            level=AdminLevel.CITY,
            region_code="110100",
            adapter_endpoint=adapter_endpoint,
            keys=keys.key_entries(),
        )
        await self.running.registry.register_department(dept, system_caller())
        self.departments[code] = keys
        return keys

    async def register_example_dataset(self, name: str, **overrides: Any) -> Any:
        data = load_spec_file(EXAMPLES / "catalog" / "datasets" / f"{name}.yaml")
        spec = dict(data.get("spec", data))
        spec.update(overrides)
        ds, _ = await self.running.registry.register_dataset(parse_dataset(spec), system_caller())
        return ds

    async def register_example_item(self, name: str, **overrides: Any) -> Any:
        data = load_spec_file(EXAMPLES / "catalog" / "service_items" / f"{name}.yaml")
        spec = dict(data.get("spec", data))
        spec.update(overrides)
        item = parse_service_item(spec)
        await self.running.registry.register_service_item(item, system_caller())
        return item

    def client(
        self,
        department: str,
        *,
        officer: str = "officer-1",
        roles: Iterable[Role | str] = (Role.OFFICER,),
        language: str = "",
    ) -> HubClient:
        keys = self.departments[department]
        client = HubClient.connect(
            self.address,
            department=department,
            officer=officer,
            key=keys.token_key,
            kid=keys.token_kid,
            roles=roles,
            language=language,
        )
        self.clients.append(client)
        return client

    async def log_entries(self) -> list[AccessLogEntry]:
        """Every access-log entry still in the database (archived and pruned ones left out), oldest first."""
        async with self.hub.db.read() as conn:
            rows = (await conn.execute(sa.select(t.log_entries.c.entry).order_by(t.log_entries.c.idx))).all()
        return [decode_entry(r.entry) for r in rows if r.entry]

    async def stop(self) -> None:
        for client in self.clients:
            await client.close()
        await self.running.stop(grace=1.0)
        if self.pg_schema:
            await drop_pg_schema(self.pg_schema)


async def create_pg_schema() -> str:
    """A fresh PostgreSQL schema for one test (dropped by `drop_pg_schema`)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(PG_URL.replace("postgresql://", "postgresql+asyncpg://"))
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    await engine.dispose()
    return name


async def drop_pg_schema(name: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(PG_URL.replace("postgresql://", "postgresql+asyncpg://"))
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    await engine.dispose()


async def start_test_hub(data_dir: Path, *, backend: str = "sqlite", **settings: Any) -> HubFixture:
    """A hub in insecure dev mode on loopback ports chosen by the OS."""
    schema = await create_pg_schema() if backend == "postgresql" else None
    values: dict[str, Any] = {
        "data_dir": str(data_dir),
        "grpc_listen": "127.0.0.1:0",
        "http_listen": "127.0.0.1:0",
        "insecure_dev": True,
        "checkpoint_interval_seconds": 3600,
        "adapter_timeout_seconds": 2.0,
        "sqlite_synchronous": "NORMAL",
    }
    if backend == "postgresql":
        values["database_url"] = PG_URL
    values.update(settings)
    loaded = load_settings(None, environ={}, **values)
    running = await start_hub(loaded, db_schema=schema)
    fixture = HubFixture(running, running.hub.settings, schema)  # the settings in force (log origin settled)
    await fixture.add_department(loaded.hub_department, name="Hub operator")
    return fixture
