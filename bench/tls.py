"""The benchmarks' transport: the production shape (the hub CA, mTLS to the hub, TLS to adapters) by default.

Every server and client of a secure run takes its certificate from one CA in the run's working
directory, so the ceilings (echo, the pass-through proxy, Flight) pay for TLS exactly as the hub
does and the ratios compare like with like. A plain-text run (``--insecure``) is an extra row.
Everything here is plain bytes and paths, so it travels to spawned processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc import aio

from exchange.auth.pki import (
    CA_CERT,
    CRL_FILE,
    HUB_CLIENT_CERT,
    HUB_CLIENT_KEY,
    hub_identity,
    issue_adapter_certificate,
    issue_department_certificate,
    issue_server_certificate,
)
from exchange.testing import LOOPBACK_HOSTS, ensure_test_pki


@dataclass(frozen=True)
class ChannelTls:
    """What a client needs for a TLS channel: the CA, and a client certificate where the server asks for one."""

    ca: bytes
    cert: bytes | None = None
    key: bytes | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(self.ca, self.key, self.cert)


@dataclass(frozen=True)
class ServerTls:
    """A server's certificate and key, and the CA its clients' certificates must chain to (mTLS) if any."""

    cert: bytes
    key: bytes
    client_ca: bytes | None = None

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)], root_certificates=self.client_ca, require_client_auth=self.client_ca is not None
        )


def aio_channel(address: str, tls: ChannelTls | None, options: list[tuple[str, Any]] | None = None) -> aio.Channel:
    """An asyncio channel: TLS with tls, plain text without."""
    if tls is None:
        return aio.insecure_channel(address, options=options)
    return aio.secure_channel(address, tls.credentials(), options=options)


def sync_channel(address: str, tls: ChannelTls | None, options: list[tuple[str, Any]] | None = None) -> grpc.Channel:
    """A blocking channel: TLS with tls, plain text without."""
    if tls is None:
        return grpc.insecure_channel(address, options=options)
    return grpc.secure_channel(address, tls.credentials(), options=options)


def add_port(server: grpc.aio.Server, tls: ServerTls | None) -> int:
    """Bind server to a loopback port chosen by the OS: TLS with tls, plain text without."""
    if tls is None:
        return server.add_insecure_port("127.0.0.1:0")
    return server.add_secure_port("127.0.0.1:0", tls.credentials())


@dataclass(frozen=True)
class BenchPki:
    """The run's CA (in the hub's data directory, where the hub finds it) and the certificates it issues."""

    directory: Path

    @classmethod
    def create(cls, hub_data_dir: Path) -> BenchPki:
        return cls(ensure_test_pki(hub_data_dir))

    @property
    def ca(self) -> bytes:
        return (self.directory / CA_CERT).read_bytes()

    def server(self, name: str, *, mutual: bool = False) -> ServerTls:
        """A loopback server certificate for name; mutual asks clients for a certificate from the CA."""
        folder = self.directory / "servers"
        key, cert = folder / f"{name}.key", folder / f"{name}.crt"
        if not cert.exists():
            issue_server_certificate(self.directory, name, hosts=LOOPBACK_HOSTS, out_dir=folder)
        return ServerTls(cert.read_bytes(), key.read_bytes(), self.ca if mutual else None)

    def adapter_section(self, department: str) -> dict[str, str]:
        """The tls section of department's adapter configuration, as in production.

        The adapter certificate profile, and the door: the hub's client identity only, with the CRL.
        """
        folder = self.directory / "adapters"
        key, cert = folder / f"{department}-adapter.key", folder / f"{department}-adapter.crt"
        if not cert.exists():
            issue_adapter_certificate(self.directory, department, hosts=LOOPBACK_HOSTS, out_dir=folder)
        section = {"cert": str(cert), "key": str(key), "client_ca": str(self.directory / CA_CERT)}
        section["hub_identity"] = hub_identity()
        if (self.directory / CRL_FILE).exists():
            section["crl"] = str(self.directory / CRL_FILE)
        return section

    def department(self, code: str) -> ChannelTls:
        """mTLS to the hub (or any server of the run) as department code."""
        folder = self.directory / "departments"
        key, cert = folder / f"{code}.key", folder / f"{code}.crt"
        if not cert.exists():
            issue_department_certificate(self.directory, code, out_dir=folder)
        return ChannelTls(self.ca, cert.read_bytes(), key.read_bytes())

    def hub_client(self) -> ChannelTls:
        """What the hub presents to adapters (the hub client profile): the only caller adapters admit."""
        cert, key = self.directory / HUB_CLIENT_CERT, self.directory / HUB_CLIENT_KEY
        return ChannelTls(self.ca, cert.read_bytes(), key.read_bytes())
