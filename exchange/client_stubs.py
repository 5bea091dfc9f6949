"""The generated gRPC stubs of every service the Python client calls, on one channel (private to the client:
its typed methods return dataclasses, never protobuf)."""

from __future__ import annotations

from grpc import aio

from exchange.v1 import (
    access_pb2_grpc,
    audit_pb2_grpc,
    cases_pb2_grpc,
    catalog_pb2_grpc,
    departments_pb2_grpc,
    exchange_pb2_grpc,
    items_pb2_grpc,
    notifications_pb2_grpc,
    supervision_pb2_grpc,
    tickets_pb2_grpc,
)


class Stubs:
    """One stub per service, all on `channel`."""

    def __init__(self, channel: aio.Channel) -> None:
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        self.departments = departments_pb2_grpc.DepartmentServiceStub(channel)
        self.items = items_pb2_grpc.ServiceItemServiceStub(channel)
        self.access = access_pb2_grpc.AccessServiceStub(channel)
        self.exchange = exchange_pb2_grpc.ExchangeServiceStub(channel)
        self.cases = cases_pb2_grpc.CaseServiceStub(channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(channel)
        self.notifications = notifications_pb2_grpc.NotificationServiceStub(channel)
        self.supervision = supervision_pb2_grpc.SupervisionServiceStub(channel)
        self.tickets = tickets_pb2_grpc.TicketServiceStub(channel)
