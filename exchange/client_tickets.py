"""What the Python client returns for correction tickets (校核纠错), as plain dataclasses made from the wire."""

from __future__ import annotations

from exchange.ticket_record import Ticket
from exchange.v1 import tickets_pb2
from exchange.wire import from_message

__all__ = ["Ticket", "ticket_from_proto"]


def ticket_from_proto(t: tickets_pb2.Ticket) -> Ticket:
    return from_message(Ticket, t)
