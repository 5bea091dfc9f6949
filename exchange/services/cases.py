"""CaseService: approval cases, their material sets, parallel review, deadlines and savings."""

from __future__ import annotations

from typing import Any

from grpc import aio

from exchange.cases.annotated_copies import AnnotatedCopyDesk
from exchange.cases.desk import CaseDesk
from exchange.cases.lifecycle import CaseAction
from exchange.cases.material_desk import MaterialDesk
from exchange.cases.review import Verdict
from exchange.error_text import language_of_metadata
from exchange.services import caller
from exchange.services.convert import (
    case_to_proto,
    enum_name,
    material_to_proto,
    next_page,
    optional_enum,
    page_bounds,
    party_from_proto,
    receipt_to_proto,
    savings_to_proto,
)
from exchange.v1 import cases_pb2, cases_pb2_grpc

Ctx = aio.ServicerContext[Any, Any]


def _language(context: Ctx) -> str:
    """The language the call asks for (accept-language); English when it asks none, as machines read."""
    return language_of_metadata(context.invocation_metadata())


class CaseServicer(cases_pb2_grpc.CaseServiceServicer):
    def __init__(self, desk: CaseDesk, materials: MaterialDesk, copies: AnnotatedCopyDesk) -> None:
        self.desk = desk
        self.material_set = materials
        self.copies = copies

    async def CreateCase(self, request: cases_pb2.CreateCaseRequest, context: Ctx) -> cases_pb2.CreateCaseResponse:
        view = await self.desk.create(
            caller(),
            service_item=request.service_item[:64],
            applicant_id=request.applicant_id,
            applicant_kind=request.applicant_kind,
            title=request.title,
            request_id=request.request_id[:64],
            parties=[party_from_proto(p) for p in request.parties[:64]],
            applicant_name=request.applicant_name[:1000],
        )
        return cases_pb2.CreateCaseResponse(case=case_to_proto(view, _language(context)))

    async def AddCaseParty(
        self, request: cases_pb2.AddCasePartyRequest, context: Ctx
    ) -> cases_pb2.AddCasePartyResponse:
        view = await self.desk.add_party(
            caller(), request.case_id, party_from_proto(request.party), request.expected_version
        )
        return cases_pb2.AddCasePartyResponse(case=case_to_proto(view, _language(context)))

    async def GetCase(self, request: cases_pb2.GetCaseRequest, context: Ctx) -> cases_pb2.GetCaseResponse:
        view = await self.desk.get(caller(), request.id)
        return cases_pb2.GetCaseResponse(case=case_to_proto(view, _language(context)))

    async def ListCases(self, request: cases_pb2.ListCasesRequest, context: Ctx) -> cases_pb2.ListCasesResponse:
        offset, size = page_bounds(request.page)
        views = await self.desk.list_cases(
            caller(),
            state=optional_enum(cases_pb2.CaseState, request.state, "CASE_STATE_", "state"),
            department=request.department[:32],
            service_item=request.service_item[:64],
            overdue_only=request.overdue_only,
            offset=offset,
            limit=size,
        )
        return cases_pb2.ListCasesResponse(
            cases=[case_to_proto(v, _language(context)) for v in views], page=next_page(offset, size, len(views))
        )

    async def TransitionCase(
        self, request: cases_pb2.TransitionCaseRequest, context: Ctx
    ) -> cases_pb2.TransitionCaseResponse:
        action = CaseAction(enum_name(cases_pb2.CaseAction, request.action, "CASE_ACTION_", "action"))
        view = await self.desk.transition(
            caller(), request.id, action, request.expected_version, tuple(request.reasons), request.comment
        )
        return cases_pb2.TransitionCaseResponse(case=case_to_proto(view, _language(context)))

    async def RecordOpinion(
        self, request: cases_pb2.RecordOpinionRequest, context: Ctx
    ) -> cases_pb2.RecordOpinionResponse:
        verdict = Verdict(enum_name(cases_pb2.Verdict, request.verdict, "VERDICT_", "verdict"))
        view = await self.desk.record_opinion(
            caller(), request.case_id, verdict, request.comment, request.expected_version
        )
        return cases_pb2.RecordOpinionResponse(case=case_to_proto(view, _language(context)))

    async def AttachMaterial(
        self, request: cases_pb2.AttachMaterialRequest, context: Ctx
    ) -> cases_pb2.AttachMaterialResponse:
        material, fetched = await self.material_set.attach(
            caller(),
            request.case_id,
            request.dataset[:64],
            request.key[:256],
            refresh=request.refresh,
            time_budget=context.time_remaining(),
        )
        return cases_pb2.AttachMaterialResponse(material=material_to_proto(material), fetched=fetched)

    async def GetMaterial(self, request: cases_pb2.GetMaterialRequest, context: Ctx) -> cases_pb2.GetMaterialResponse:
        material, body, receipt = await self.material_set.read_material(
            caller(), request.case_id, request.dataset[:64], request.version
        )
        disclosures = await self.material_set.disclosures_for(material, body)
        return cases_pb2.GetMaterialResponse(
            material=material_to_proto(material, body, disclosures), receipt=receipt_to_proto(receipt)
        )

    async def ListMaterials(
        self, request: cases_pb2.ListMaterialsRequest, context: Ctx
    ) -> cases_pb2.ListMaterialsResponse:
        found = await self.material_set.materials(caller(), request.case_id)
        return cases_pb2.ListMaterialsResponse(materials=[material_to_proto(m) for m in found])

    async def ListOverdueCases(
        self, request: cases_pb2.ListOverdueCasesRequest, context: Ctx
    ) -> cases_pb2.ListOverdueCasesResponse:
        offset, size = page_bounds(request.page)
        views = await self.desk.overdue(
            caller(),
            request.department[:32],
            include_nearly=request.include_nearly_overdue,
            offset=offset,
            limit=size,
        )
        return cases_pb2.ListOverdueCasesResponse(
            cases=[case_to_proto(v, _language(context)) for v in views], page=next_page(offset, size, len(views))
        )

    async def GetSavings(self, request: cases_pb2.GetSavingsRequest, context: Ctx) -> cases_pb2.GetSavingsResponse:
        saved = await self.desk.savings(caller(), case_id=request.case_id, service_item=request.service_item)
        return cases_pb2.GetSavingsResponse(savings=savings_to_proto(saved))

    async def GetAnnotatedCopy(
        self, request: cases_pb2.GetAnnotatedCopyRequest, context: Ctx
    ) -> cases_pb2.GetAnnotatedCopyResponse:
        copy = await self.copies.annotated_copy(caller(), request.case_id, request.dataset[:64], request.version)
        return cases_pb2.GetAnnotatedCopyResponse(
            pdf=copy.pdf,
            sha256=copy.sha256,
            valid_until_us=copy.valid_until_us,
            material=material_to_proto(copy.material),
            receipt=receipt_to_proto(copy.receipt),
        )
