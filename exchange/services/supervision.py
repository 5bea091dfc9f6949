"""SupervisionService: figures, warnings, escalations and the periodic report (read-only, metadata only)."""

from __future__ import annotations

from typing import Any

from grpc import aio

from exchange.audit.recorder import entry_of
from exchange.hub import Hub
from exchange.services import caller
from exchange.supervision.desk import SupervisionDesk
from exchange.supervision.figures import Figures
from exchange.v1 import supervision_pb2, supervision_pb2_grpc

Ctx = aio.ServicerContext[Any, Any]


def figures_to_proto(figures: Figures) -> supervision_pb2.Figures:
    return supervision_pb2.Figures(
        since_us=figures.since_us,
        until_us=figures.until_us,
        rows=[
            supervision_pb2.FigureRow(
                scope=r.scope,
                key=r.key,
                volume=r.volume,
                finished=r.finished,
                finished_on_time=r.finished_on_time,
                on_time_rate=r.on_time_rate,
                average_working_days=r.average_working_days,
                pauses=r.pauses,
                materials_fetched=r.materials_fetched,
                materials_reused=r.materials_reused,
                submissions_avoided=r.submissions_avoided,
                requests_answered=r.requests_answered,
                requests_answered_in_time=r.requests_answered_in_time,
                escalations=r.escalations,
                yellow_warnings=r.yellow_warnings,
                red_warnings=r.red_warnings,
                tickets_opened=r.tickets_opened,
                tickets_answered=r.tickets_answered,
                tickets_answered_in_time=r.tickets_answered_in_time,
                tickets_corrected=r.tickets_corrected,
            )
            for r in figures.sorted_rows()
        ],
        refusals=[
            supervision_pb2.RefusalCount(department=d, reason=reason, count=n)
            for (d, reason), n in sorted(figures.refusals.items())
        ],
    )


class SupervisionServicer(supervision_pb2_grpc.SupervisionServiceServicer):
    def __init__(self, hub: Hub, desk: SupervisionDesk) -> None:
        self.hub = hub
        self.desk = desk

    async def _record_read(self, action: str, **details: str) -> None:
        """A supervisor's read is logged like an auditor's (metadata only, nobody's data)."""
        await self.hub.record(entry_of(caller(), action, details={k: v for k, v in details.items() if v}))

    async def GetFigures(
        self, request: supervision_pb2.GetFiguresRequest, context: Ctx
    ) -> supervision_pb2.GetFiguresResponse:
        figures = await self.desk.figures(request.since_us, request.until_us)
        await self._record_read(
            "supervision.figures.read", since_us=str(request.since_us), until_us=str(figures.until_us)
        )
        return supervision_pb2.GetFiguresResponse(figures=figures_to_proto(figures))

    async def ListWarnings(
        self, request: supervision_pb2.ListWarningsRequest, context: Ctx
    ) -> supervision_pb2.ListWarningsResponse:
        found = await self.desk.warnings(request.department)
        await self._record_read("supervision.warnings.list", department=request.department)
        return supervision_pb2.ListWarningsResponse(
            warnings=[
                supervision_pb2.CaseWarning(
                    case_id=w.case_id,
                    service_item=w.service_item,
                    lead_department=w.lead_department,
                    level=str(w.level),
                    deadline_us=w.deadline_us,
                    working_days_left=w.working_days_left,
                )
                for w in found
            ]
        )

    async def ListEscalations(
        self, request: supervision_pb2.ListEscalationsRequest, context: Ctx
    ) -> supervision_pb2.ListEscalationsResponse:
        found = await self.desk.escalations(request.owner)
        await self._record_read("supervision.escalations.list", owner=request.owner)
        return supervision_pb2.ListEscalationsResponse(
            escalations=[
                supervision_pb2.Escalation(
                    request_id=e.reference,
                    owner=e.owner,
                    consumer=str(e.data.get("consumer", "")),
                    dataset=str(e.data.get("dataset", "")),
                    answer_due_us=int(e.data.get("due_us", 0)),
                    escalated_at_us=e.time_us,
                )
                for e in found
            ]
        )

    async def GetReport(
        self, request: supervision_pb2.GetReportRequest, context: Ctx
    ) -> supervision_pb2.GetReportResponse:
        report = await self.desk.report(request.period, request.at_us)
        await self._record_read("supervision.report.read", period=request.period, name=report.name)
        return supervision_pb2.GetReportResponse(
            figures=figures_to_proto(report.figures), csv=report.csv, pdf=report.pdf, name=report.name
        )
