"""`exchange health`: ask a running hub over gRPC health checking, in its own TLS configuration.

Container HEALTHCHECKs and Kubernetes probes cannot speak mTLS themselves (the kubelet's gRPC probe has
no TLS at all), and the hub admits no caller without a client certificate of its CA. So the check dials
the local listener with the hub's own client certificate (``tls_client_cert``, the profile it presents to
adapters) and verifies the server against a name in the hub's own server certificate. Health checking is
public on the hub: no token, nothing written to the access log.
"""

from __future__ import annotations

import ipaddress

import grpc
from cryptography import x509
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from exchange.config import Settings
from exchange.errors import Unavailable


def local_address(settings: Settings) -> str:
    """The gRPC listener as a local client dials it (a wildcard bind is reached on loopback)."""
    host, port = settings.grpc_listen.rsplit(":", 1)
    if host in ("0.0.0.0", "", "[::]"):  # noqa: S104 (a bind address read from settings, not a bind)
        host = "127.0.0.1"
    return f"{host}:{port}"


def server_name(settings: Settings) -> str:
    """A name the hub's server certificate carries (its first DNS name, else its first IP address)."""
    certificate = x509.load_pem_x509_certificate(settings.read_file("tls_cert"))
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return settings.hub_name
    dns = names.get_values_for_type(x509.DNSName)
    addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [
        a
        for a in names.get_values_for_type(x509.IPAddress)
        if not isinstance(a, ipaddress.IPv4Network | ipaddress.IPv6Network)
    ]
    return dns[0] if dns else str(addresses[0]) if addresses else settings.hub_name


def _channel(settings: Settings, address: str) -> aio.Channel:
    if settings.insecure_dev:
        return aio.insecure_channel(address)
    credentials = grpc.ssl_channel_credentials(
        settings.read_file("tls_client_ca"), settings.read_file("tls_client_key"), settings.read_file("tls_client_cert")
    )
    return aio.secure_channel(address, credentials, options=[("grpc.ssl_target_name_override", server_name(settings))])


async def check_health(
    settings: Settings, *, address: str | None = None, service: str = "", timeout: float = 3.0
) -> str:
    """The serving status the hub reports (``SERVING`` when all is well); Unavailable when it cannot be asked."""
    address = address or local_address(settings)
    async with _channel(settings, address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except aio.AioRpcError as error:
            raise Unavailable(
                f"the hub at {address} did not answer the health check: {error.code().name} {error.details()}",
                reason="HUB_UNHEALTHY",
            ) from None
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
