"""TicketService: correction tickets (校核纠错), opened by a receiving department, answered by the issuer."""

from __future__ import annotations

from typing import Any

from grpc import aio

from exchange.services import caller
from exchange.tickets import Ticket, TicketDesk
from exchange.v1 import tickets_pb2, tickets_pb2_grpc
from exchange.wire import to_message

Ctx = aio.ServicerContext[Any, Any]


def ticket_to_proto(t: Ticket) -> tickets_pb2.Ticket:
    return to_message(tickets_pb2.Ticket, t, evidence_digest=f"sha256:{t.evidence_digest}" if t.evidence_digest else "")


class TicketServicer(tickets_pb2_grpc.TicketServiceServicer):
    def __init__(self, desk: TicketDesk) -> None:
        self.desk = desk

    async def OpenTicket(self, request: tickets_pb2.OpenTicketRequest, context: Ctx) -> tickets_pb2.OpenTicketResponse:
        ticket = await self.desk.open(
            caller(),
            request.case_id,
            request.dataset,
            list(request.fields),
            request.reason,
            request.evidence_text,
            request.evidence_digest,
        )
        return tickets_pb2.OpenTicketResponse(ticket=ticket_to_proto(ticket))

    async def GetTicket(self, request: tickets_pb2.GetTicketRequest, context: Ctx) -> tickets_pb2.GetTicketResponse:
        return tickets_pb2.GetTicketResponse(ticket=ticket_to_proto(await self.desk.get(caller(), request.ticket_id)))

    async def ListTickets(
        self, request: tickets_pb2.ListTicketsRequest, context: Ctx
    ) -> tickets_pb2.ListTicketsResponse:
        found = await self.desk.list(caller(), dataset=request.dataset, state=request.state, role=request.role)
        return tickets_pb2.ListTicketsResponse(tickets=[ticket_to_proto(t) for t in found])

    async def AnswerTicket(
        self, request: tickets_pb2.AnswerTicketRequest, context: Ctx
    ) -> tickets_pb2.AnswerTicketResponse:
        ticket = await self.desk.answer(caller(), request.ticket_id, request.answer, request.reason)
        return tickets_pb2.AnswerTicketResponse(ticket=ticket_to_proto(ticket))
