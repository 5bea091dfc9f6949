"""Assembles one hub process: the gRPC server and, on the same loop, the HTTP side (console, metrics, health)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from aiohttp import web
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from adapters.ipc import keep_freed_memory_for_reuse
from exchange import console, metrics, tracing
from exchange.app.wiring import Application
from exchange.config import Settings
from exchange.errors import FailedPrecondition, FieldViolation
from exchange.fetch import Fetcher
from exchange.hub import Hub
from exchange.notifications import WebhookDeliverer
from exchange.reflection import enable_reflection
from exchange.registry import Registry
from exchange.services import authenticating, checking_input, recording_failures
from exchange.services.access import AccessServicer
from exchange.services.audit import AuditServicer
from exchange.services.cases import CaseServicer
from exchange.services.catalog import CatalogServicer, DepartmentServicer, ServiceItemServicer
from exchange.services.exchange import ExchangeServicer, add_exchange_servicer_to_server
from exchange.services.notifications import NotificationServicer
from exchange.services.request_ids import RequestIdInterceptor
from exchange.services.supervision import SupervisionServicer
from exchange.services.tickets import TicketServicer
from exchange.status import ErrorMappingInterceptor
from exchange.v1 import (
    access_pb2,
    access_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    cases_pb2,
    cases_pb2_grpc,
    catalog_pb2,
    catalog_pb2_grpc,
    departments_pb2,
    departments_pb2_grpc,
    exchange_pb2,
    items_pb2,
    items_pb2_grpc,
    notifications_pb2,
    notifications_pb2_grpc,
    supervision_pb2,
    supervision_pb2_grpc,
    tickets_pb2,
    tickets_pb2_grpc,
)

log = logging.getLogger(__name__)

# Metadata a caller may send: room for a token at its limit plus the usual headers.
METADATA_LIMIT_BYTES = 16 * 1024

SERVICE_NAMES = [
    catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name,
    departments_pb2.DESCRIPTOR.services_by_name["DepartmentService"].full_name,
    items_pb2.DESCRIPTOR.services_by_name["ServiceItemService"].full_name,
    access_pb2.DESCRIPTOR.services_by_name["AccessService"].full_name,
    exchange_pb2.DESCRIPTOR.services_by_name["ExchangeService"].full_name,
    cases_pb2.DESCRIPTOR.services_by_name["CaseService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
    notifications_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name,
    supervision_pb2.DESCRIPTOR.services_by_name["SupervisionService"].full_name,
    tickets_pb2.DESCRIPTOR.services_by_name["TicketService"].full_name,
]


@dataclass
class RunningHub:
    hub: Hub
    server: aio.Server
    grpc_port: int
    http_port: int
    app: Application
    runner: web.AppRunner | None = None
    health: health.aio.HealthServicer | None = None

    @property
    def registry(self) -> Registry:
        return self.app.registry

    @property
    def fetcher(self) -> Fetcher:
        return self.app.fetcher

    async def stop(self, grace: float = 5.0) -> None:
        if self.health is not None:
            await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        if self.runner is not None:
            await self.runner.cleanup()
        await self.hub.close()


def _http_tls(settings: Settings) -> ssl.SSLContext | None:
    """TLS for the HTTP listener with the hub's server certificate (no client certificate: people sign in)."""
    if settings.insecure_dev:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.path(settings.tls_cert), settings.path(settings.tls_key))
    return context


def _server_credentials(settings: Settings) -> grpc.ServerCredentials:
    key = settings.read_file("tls_key")
    cert = settings.read_file("tls_cert")
    client_ca = settings.read_file("tls_client_ca")
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca, require_client_auth=True)


def _add_servicers(server: aio.Server, app: Application) -> None:
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(CatalogServicer(app.registry, app.catalog), server)
    departments_pb2_grpc.add_DepartmentServiceServicer_to_server(DepartmentServicer(app.registry, app.catalog), server)
    items_pb2_grpc.add_ServiceItemServiceServicer_to_server(ServiceItemServicer(app.registry, app.catalog), server)
    access_pb2_grpc.add_AccessServiceServicer_to_server(AccessServicer(app.registry), server)
    add_exchange_servicer_to_server(ExchangeServicer(app.fetcher), server)  # Scan relays encoded responses
    cases_pb2_grpc.add_CaseServiceServicer_to_server(CaseServicer(app.cases, app.materials, app.copies), server)
    audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(app.hub, app.audit), server)
    notifications_pb2_grpc.add_NotificationServiceServicer_to_server(NotificationServicer(app.notifications), server)
    supervision_pb2_grpc.add_SupervisionServiceServicer_to_server(SupervisionServicer(app.hub, app.supervision), server)
    tickets_pb2_grpc.add_TicketServiceServicer_to_server(TicketServicer(app.tickets), server)


def http_app(running: RunningHub) -> web.Application:
    app = web.Application()

    async def healthz(_: web.Request) -> web.Response:
        size, _root = await running.hub.access_log.head()
        return web.json_response({"status": "serving", "log_size": size, "pid": os.getpid()})

    async def scrape(_: web.Request) -> web.Response:
        body = await metrics.exposition(running.hub)
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE_LATEST})

    def published(setting: str, content_type: str, missing: str) -> Any:
        """The CA certificate and its CRL are public (the CRL is signed by the CA): adapters fetch them here."""

        async def serve(_: web.Request) -> web.Response:
            path = running.hub.settings.path(getattr(running.hub.settings, setting))
            try:
                return web.Response(body=path.read_bytes(), content_type=content_type)
            except FileNotFoundError:
                return web.Response(status=404, text=missing)

        return serve

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", scrape)
    app.router.add_get(
        "/pki/crl.pem",
        published(
            "crl_file", "application/x-pem-file", "no CRL yet: nothing has been revoked (exchange pki crl makes one)"
        ),
    )
    app.router.add_get("/pki/ca.crt", published("tls_client_ca", "application/x-pem-file", "this hub has no CA file"))
    console.mount(app, running.app)
    return app


def _port_in_use(setting: str, listen: str) -> FailedPrecondition:
    host, port = listen.rsplit(":", 1)
    return FailedPrecondition(
        f"{setting}: port {port} on {host} is already in use by another process; stop that process "
        f"or set {setting} to a free port",
        reason="PORT_IN_USE",
        violations=[FieldViolation(setting, f"port {port} is in use")],
    )


def refuse_busy_ports(settings: Settings) -> None:
    """Refuse, before anything starts, a port another process listens on (with SO_REUSEPORT or not)."""
    for setting in ("grpc_listen", "http_listen"):
        listen = getattr(settings, setting)
        if not listen:
            continue
        host, port = listen.rsplit(":", 1)
        if int(port) == 0:
            continue
        try:
            infos = socket.getaddrinfo(host.strip("[]"), int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except OSError:
            continue  # the server's own bind will name what is wrong with the host
        family, kind, proto, _, address = infos[0]
        probe = socket.socket(family, kind, proto)
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise _port_in_use(setting, listen) from None
        finally:
            probe.close()


async def start_hub(settings: Settings, *, db_schema: str | None = None, worker: bool = False) -> RunningHub:
    """Start a hub and return once it accepts calls (ports resolved when :0 was asked).

    A `worker` of `exchange serve --workers N` shares its ports with its siblings (SO_REUSEPORT); its
    parent has already refused ports that another process holds.
    """
    if settings.insecure_dev:
        log.warning("=" * 72)
        log.warning("INSECURE DEV MODE: plain-text gRPC, no TLS, no client certificates.")
        log.warning("Anyone on the network can read the traffic. Never run this in production.")
        log.warning("=" * 72)
    if not worker:
        refuse_busy_ports(settings)
    keep_freed_memory_for_reuse()  # scans relay 2 MiB messages: see adapters.ipc
    tracing.configure(settings.otlp_endpoint, settings.hub_name)
    hub = Hub(settings, db_schema=db_schema)
    await hub.start()
    application = Application.build(hub)
    hub.run_in_background(WebhookDeliverer(hub).run_forever(), "webhooks")
    licences = application.licences
    hub.run_in_background(licences.watch_forever(), "status-watch")
    hub.run_in_background(licences.poll_forever(), "status-poll")
    if settings.supervision_interval_seconds > 0:
        hub.run_in_background(application.supervisor.run_forever(settings.supervision_interval_seconds), "supervision")
    server = aio.server(
        # Metrics outermost: they see the status every other interceptor ended the call with.
        interceptors=[
            metrics.RpcMetricsInterceptor(),
            tracing.TracingInterceptor(),
            RequestIdInterceptor(),
            ErrorMappingInterceptor(authenticating(hub), recorder=recording_failures(hub), check=checking_input(hub)),
        ],
        options=[
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            # Above the token's own limit (8 KiB), so an oversized token reaches the hub and is refused and
            # logged with its reason instead of being cut off by gRPC as RESOURCE_EXHAUSTED with no entry.
            ("grpc.max_metadata_size", METADATA_LIMIT_BYTES),
            ("grpc.keepalive_permit_without_calls", 1),
            # gRPC sets SO_REUSEPORT by default, which let a second hub (another database!) share the port.
            ("grpc.so_reuseport", 1 if worker else 0),
            ("grpc.http2.min_ping_interval_without_data_ms", 60_000),
        ],
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    _add_servicers(server, application)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    enable_reflection(server, [*SERVICE_NAMES, health.SERVICE_NAME])
    try:
        if settings.insecure_dev:
            port = server.add_insecure_port(settings.grpc_listen)
        else:
            port = server.add_secure_port(settings.grpc_listen, _server_credentials(settings))
    except RuntimeError:
        await hub.close()
        raise _port_in_use("grpc_listen", settings.grpc_listen) from None
    await server.start()
    for name in ["", *SERVICE_NAMES]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    running = RunningHub(hub, server, port, 0, application, health=health_servicer)
    if settings.http_listen:
        host, http_port = settings.http_listen.rsplit(":", 1)
        running.runner = web.AppRunner(http_app(running), access_log=None)
        await running.runner.setup()
        site = web.TCPSite(
            running.runner, host.strip("[]"), int(http_port), ssl_context=_http_tls(settings), reuse_port=worker
        )
        try:
            await site.start()
        except OSError as error:
            await running.stop()
            if error.errno == errno.EADDRINUSE:
                raise _port_in_use("http_listen", settings.http_listen) from None
            raise
        running.http_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    log.info("hub serving gRPC on port %d, HTTP on port %d", running.grpc_port, running.http_port)
    return running


async def serve_forever(
    settings: Settings,
    *,
    worker: bool = False,
    on_ready: Callable[[RunningHub], Awaitable[None]] | None = None,
) -> None:
    """`exchange serve`: run until SIGTERM or SIGINT, then stop gracefully; `on_ready` says where it listens."""
    running = await start_hub(settings, worker=worker)
    if on_ready is not None:
        await on_ready(running)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping: finishing calls in flight")
    await running.stop()
