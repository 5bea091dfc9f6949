"""Helpers to run a real hub on loopback in tests, benchmarks and the demo.

`HubFixture` starts a hub (SQLite file in a temporary directory, or a schema of its
own in PostgreSQL), registers departments with fresh keys, and hands out clients
that act as an officer or administrator of any of them.

The hub runs the production shape by default: its own CA in ``<data_dir>/pki``,
mTLS for every department (each registered department gets a client certificate),
TLS to adapters with certificates from the same CA, HTTPS on the console. Only a
test about dev mode asks for ``insecure_dev=True``.
"""

from __future__ import annotations

import socket
import ssl
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from grpc import aio

from adapters.config import TlsConfig
from adapters.server import server_credentials
from catalog.model import AdminLevel, Department, DepartmentKey, KeyUse
from catalog.specs import parse_dataset, parse_service_item
from catalog.yaml_io import load_spec_file
from exchange.adapter_client import TransportSecurity
from exchange.audit.entry import AccessLogEntry
from exchange.auth.identity import HUB_OPERATOR, Role, system_caller
from exchange.auth.keys import generate_ed25519, key_id, load_public_key, public_key_to_pem, write_private_key
from exchange.auth.pki import (
    CA_CERT,
    CRL_FILE,
    HUB_CLIENT_CERT,
    HUB_CLIENT_KEY,
    SERVER_CERT,
    SERVER_KEY,
    hub_identity,
    init_pki,
    issue_adapter_certificate,
    issue_department_certificate,
)
from exchange.client import ClientTLS, HubClient
from exchange.config import Settings, load_settings
from exchange.server import RunningHub, start_hub
from exchange.storage import log_store

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
# The names every test certificate is valid for: clients dial 127.0.0.1, people type localhost.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


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
    """A running hub plus the keys (and, over mTLS, the certificates) of the departments registered on it."""

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

    @property
    def secure(self) -> bool:
        """False only for a hub started in insecure dev mode."""
        return not self.settings.insecure_dev

    @property
    def pki_dir(self) -> Path:
        """The hub's CA directory (the one holding its server certificate)."""
        return self.settings.path(self.settings.tls_cert).parent

    @property
    def ca_cert(self) -> Path:
        return self.pki_dir / CA_CERT

    def certificate_files(self, department: str) -> tuple[Path, Path]:
        """(key, certificate) of department's client certificate, issued by the hub CA on first use."""
        folder = self.pki_dir / "departments"
        key, cert = folder / f"{department}.key", folder / f"{department}.crt"
        if not cert.exists():
            issue_department_certificate(self.pki_dir, department, out_dir=folder)
        return key, cert

    def client_tls(self, department: str) -> ClientTLS | None:
        """The mTLS material department connects with; None when the hub runs in dev mode."""
        if not self.secure:
            return None
        key, cert = self.certificate_files(department)
        return ClientTLS.from_files(self.ca_cert, cert, key)

    def channel(self, department: str = HUB_OPERATOR) -> aio.Channel:
        """A raw gRPC channel to the hub as department (mTLS with its certificate; plain text in dev mode)."""
        tls = self.client_tls(department)
        if tls is None:
            return aio.insecure_channel(self.address)
        return aio.secure_channel(self.address, grpc.ssl_channel_credentials(tls.ca, tls.key, tls.cert))

    def adapter_tls(self, department: str) -> TlsConfig | None:
        """TLS for department's adapter on loopback, as in production (None in dev mode).

        The adapter certificate profile from the hub CA, and the door: only the hub's client
        identity (by name), checked against the CA's revocation list.
        """
        if not self.secure:
            return None
        folder = self.pki_dir / "adapters"
        key, cert = folder / f"{department}-adapter.key", folder / f"{department}-adapter.crt"
        if not cert.exists():
            issue_adapter_certificate(self.pki_dir, department, hosts=LOOPBACK_HOSTS, out_dir=folder)
        crl = self.settings.path(self.settings.crl_file)
        return TlsConfig(
            cert=cert,
            key=key,
            client_ca=self.ca_cert,
            hub_identity=hub_identity(self.settings.hub_name),
            crl=crl if crl.exists() else None,
        )

    def adapter_tls_section(self, department: str) -> dict[str, str] | None:
        """adapter_tls as the ``tls`` section of an adapter configuration file (None in dev mode)."""
        tls = self.adapter_tls(department)
        if tls is None:
            return None
        section = {"cert": str(tls.cert), "key": str(tls.key), "hub_identity": tls.hub_identity}
        section.update({name: str(path) for name, path in (("client_ca", tls.client_ca), ("crl", tls.crl)) if path})
        return section

    def add_adapter_port(self, server: aio.Server, name: str) -> int:
        """Bind a hand-made adapter server to a loopback port the way adapters serve (TLS unless dev mode)."""
        tls = self.adapter_tls(name)
        if tls is None:
            return server.add_insecure_port("127.0.0.1:0")
        return server.add_secure_port("127.0.0.1:0", server_credentials(tls))

    @property
    def http_url(self) -> str:
        """The base URL of the hub's HTTP side (console, /healthz): HTTPS unless in dev mode."""
        scheme = "https" if self.secure else "http"
        return f"{scheme}://127.0.0.1:{self.running.http_port}"

    def http_ssl(self) -> ssl.SSLContext | None:
        """An SSL context trusting the hub CA, for HTTP clients of the console; None in dev mode."""
        return ssl.create_default_context(cafile=str(self.ca_cert)) if self.secure else None

    async def add_department(
        self,
        code: str,
        *,
        name: str | None = None,
        adapter_endpoint: str | None = None,
        signing_public_key: Ed25519PublicKey | str | None = None,
        name_en: str = "",
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
            name_en=name_en,
            level=AdminLevel.CITY,
            region_code="110100",
            adapter_endpoint=adapter_endpoint,
            keys=keys.key_entries(),
        )
        await self.running.registry.register_department(dept, system_caller())
        self.departments[code] = keys
        if self.secure:
            self.certificate_files(code)
        return keys

    async def register_example_dataset(self, name: str, **overrides: Any) -> Any:
        data = load_spec_file(EXAMPLES / "catalog" / "datasets" / f"{name}.yaml")
        spec = dict(data.get("spec", data))
        spec.update(overrides)
        if spec.get("sharing_type") != "conditional" and "sharing_conditions" not in overrides:
            # An example made unconditional for a test drops the conditions that apply to conditional entries only.
            spec.pop("sharing_conditions", None)
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
        address: str | Sequence[str] | None = None,
    ) -> HubClient:
        """A client acting for an officer of department, to this hub (or to `address`: another replica, a balancer)."""
        keys = self.departments[department]
        client = HubClient.connect(
            address or self.address,
            department=department,
            officer=officer,
            key=keys.token_key,
            kid=keys.token_kid,
            roles=roles,
            language=language,
            tls=self.client_tls(department),
        )
        self.clients.append(client)
        return client

    def write_profile(
        self,
        department: str,
        directory: Path,
        *,
        officer: str = "officer-1",
        roles: Iterable[Role | str] = (Role.OFFICER,),
        hub: str | None = None,
    ) -> Path:
        """A CLI profile (as `exchange init` writes) for department, with its token key and mTLS files."""
        from exchange.cli.common import Profile  # the CLI sits above this module

        directory.mkdir(parents=True, exist_ok=True)
        token_key = directory / f"{department}-token.key"
        if not token_key.exists():
            write_private_key(token_key, self.departments[department].token_key)
        ca = cert = client_key = ""
        if self.secure:
            key_path, cert_path = self.certificate_files(department)
            ca, cert, client_key = str(self.ca_cert.resolve()), str(cert_path.resolve()), str(key_path.resolve())
        path = directory / "profile.yaml"
        Profile(
            hub=hub or self.address,
            department=department,
            officer=officer,
            key=str(token_key.resolve()),
            roles=tuple(Role(r).value for r in roles),
            ca=ca,
            cert=cert,
            client_key=client_key,
        ).dump(path)
        return path

    async def log_entries(self) -> list[AccessLogEntry]:
        """Every access-log entry still in the database (archived and pruned ones left out), oldest first."""
        async with self.hub.db.read() as conn:
            return await log_store.entries_from(conn)

    async def stop(self) -> None:
        for client in self.clients:
            await client.close()
        await self.running.stop(grace=1.0)
        if self.pg_schema:
            await drop_pg_schema(self.pg_schema)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now (for servers that must be told their port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def create_pg_database() -> str:
    """A PostgreSQL database of its own (for hub processes, which cannot be handed a schema by the test)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    return PG_URL.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(url: str) -> None:
    await _pg_admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def _pg_admin(statement: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(PG_URL.replace("postgresql://", "postgresql+asyncpg://"), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(statement))
    await engine.dispose()


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


def ensure_test_pki(data_dir: Path, *, hub_name: str = "exchange-hub") -> Path:
    """The hub CA and server certificate in data_dir/pki, made on first use (a caller may make its own first)."""
    directory = data_dir / "pki"
    if not (directory / CA_CERT).exists():
        init_pki(directory, hub_name=hub_name, hosts=(*LOOPBACK_HOSTS, hub_name))
    return directory


@dataclass(frozen=True)
class AdapterLink:
    """Both ends of the hub-to-adapter link on loopback, as in production, for tests without a hub."""

    adapter: TlsConfig
    hub: TransportSecurity

    def hub_channel(self, endpoint: str) -> aio.Channel:
        """A raw channel to the adapter with the hub's client certificate (the one caller it admits)."""
        assert self.hub.root_ca is not None
        credentials = grpc.ssl_channel_credentials(self.hub.root_ca, self.hub.client_key, self.hub.client_cert)
        return aio.secure_channel(endpoint, credentials)


def adapter_link(data_dir: Path, department: str, *, hub_name: str = "exchange-hub") -> AdapterLink:
    """A CA in data_dir/pki, department's adapter TLS (admitting the hub only) and the hub's side of it."""
    directory = ensure_test_pki(data_dir, hub_name=hub_name)
    folder = directory / "adapters"
    key, cert = folder / f"{department}-adapter.key", folder / f"{department}-adapter.crt"
    if not cert.exists():
        issue_adapter_certificate(directory, department, hosts=LOOPBACK_HOSTS, out_dir=folder)
    ca = directory / CA_CERT
    adapter = TlsConfig(cert=cert, key=key, client_ca=ca, hub_identity=hub_identity(hub_name))
    hub = TransportSecurity(
        ca.read_bytes(), (directory / HUB_CLIENT_CERT).read_bytes(), (directory / HUB_CLIENT_KEY).read_bytes()
    )
    return AdapterLink(adapter, hub)


def tls_settings(data_dir: Path, *, hub_name: str = "exchange-hub") -> dict[str, Any]:
    """Settings for an mTLS hub whose CA lives in data_dir/pki (absolute paths: replicas share them)."""
    directory = ensure_test_pki(data_dir, hub_name=hub_name).resolve()
    return {
        "tls_cert": str(directory / SERVER_CERT),
        "tls_key": str(directory / SERVER_KEY),
        "tls_client_ca": str(directory / CA_CERT),
        "tls_client_cert": str(directory / HUB_CLIENT_CERT),
        "tls_client_key": str(directory / HUB_CLIENT_KEY),
        "crl_file": str(directory / CRL_FILE),
    }


async def start_test_hub(data_dir: Path, *, backend: str = "sqlite", **settings: Any) -> HubFixture:
    """A hub on loopback ports chosen by the OS: mTLS with its own CA, or plain text with insecure_dev=True."""
    insecure_dev = bool(settings.pop("insecure_dev", False))
    schema = await create_pg_schema() if backend == "postgresql" else None
    values: dict[str, Any] = {
        "data_dir": str(data_dir),
        "grpc_listen": "127.0.0.1:0",
        "http_listen": "127.0.0.1:0",
        "insecure_dev": insecure_dev,
        "checkpoint_interval_seconds": 3600,
        "adapter_timeout_seconds": 2.0,
        "sqlite_synchronous": "NORMAL",
    }
    if not insecure_dev:
        values.update(tls_settings(data_dir, hub_name=settings.get("hub_name", "exchange-hub")))
    if backend == "postgresql":
        values["database_url"] = PG_URL
    values.update(settings)
    loaded = load_settings(None, environ={}, **values)
    running = await start_hub(loaded, db_schema=schema)
    fixture = HubFixture(running, running.hub.settings, schema)  # the settings in force (log origin settled)
    await fixture.add_department(loaded.hub_department, name="Hub operator")
    return fixture
