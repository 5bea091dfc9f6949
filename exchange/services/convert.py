"""Protobuf <-> domain objects. The only module that knows both sides."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog import limits
from catalog.model import SERVICE_ITEM_CODE, Dataset, Department, DepartmentKey, ServiceItem
from catalog.schema import schema_to_list
from catalog.specs import dataset_to_dict, parse_dataset, parse_department, parse_service_item
from exchange.app.case_records import Savings
from exchange.app.parsing import parse_page_token
from exchange.audit.entry import AccessLogEntry
from exchange.audit.log import Receipt, SignedCheckpoint
from exchange.auth.access_requests import AccessRequest
from exchange.auth.held_roles import DepartmentRoles
from exchange.cases import timeline
from exchange.cases.desk import CaseView
from exchange.cases.materials import Material
from exchange.cases.parties import PartyInput
from exchange.clock import from_datetime
from exchange.errors import FieldViolation, InvalidArgument
from exchange.policy import Grant
from exchange.provenance import Provenance
from exchange.status import quote
from exchange.storage.log_store import EntryFilter
from exchange.v1 import (
    access_pb2,
    audit_pb2,
    cases_pb2,
    catalog_pb2,
    common_pb2,
    departments_pb2,
    items_pb2,
)
from exchange.wire import from_message, to_message


def enum_name(enum: Any, value: int, prefix: str, field: str) -> str:
    """The lower-case domain value of a proto enum; UNSPECIFIED or unknown numbers are refused."""
    try:
        name = enum.Name(value)
    except ValueError:
        raise InvalidArgument(
            f"{field}: unknown value {value}",
            reason="UNKNOWN_ENUM_VALUE",
            violations=[FieldViolation(field, "unknown")],
        ) from None
    if name.endswith("_UNSPECIFIED"):
        allowed = ", ".join(n.removeprefix(prefix).lower() for n in enum.keys() if not n.endswith("UNSPECIFIED"))  # noqa: SIM118
        raise InvalidArgument(
            f"{field} is required (one of {allowed})",
            reason="MISSING_ENUM_VALUE",
            violations=[FieldViolation(field, f"one of {allowed}")],
        )
    return str(name.removeprefix(prefix).lower())


def optional_enum(enum: Any, value: int, prefix: str, field: str) -> str:
    return "" if value == 0 else enum_name(enum, value, prefix, field)


def enum_value(enum: Any, prefix: str, name: str) -> Any:
    return enum.Value(prefix + name.upper())


# --- catalog -----------------------------------------------------------------------------------------


def dataset_from_proto(msg: catalog_pb2.Dataset) -> Dataset:
    data: dict[str, Any] = {
        "code": msg.code,
        "title": msg.title,
        "description": msg.description,
        "owner": msg.owner,
        "kind": enum_name(catalog_pb2.DatasetKind, msg.kind, "DATASET_KIND_", "kind"),
        "key_field": msg.key_field,
        "key_format": enum_name(catalog_pb2.KeyFormat, msg.key_format, "KEY_FORMAT_", "key_format"),
        "schema": {
            "fields": [
                {
                    "name": f.name,
                    "type": f.type,
                    "required": f.required,
                    "sensitivity": enum_name(common_pb2.Sensitivity, f.sensitivity, "SENSITIVITY_", "sensitivity"),
                    "description": f.description,
                }
                for f in msg.fields
            ]
        },
        "sharing_type": enum_name(catalog_pb2.SharingType, msg.sharing_type, "SHARING_TYPE_", "sharing_type"),
        "legal_basis": msg.legal_basis,
        "update_frequency": msg.update_frequency,
        "theme": msg.theme,
        "keywords": list(msg.keywords),
    }
    for name in (
        "version",
        "subject_field",
        "validity_field",
        "status_field",
        "resource_code",
        "provider_code",
        "sharing_conditions",
        "sharing_method",
        "open_attribute",
        "publication_date",
    ):
        if getattr(msg, name):
            data[name] = getattr(msg, name)
    if msg.classification:
        data["classification"] = list(msg.classification)
    if msg.status:
        data["status"] = enum_name(catalog_pb2.DatasetStatus, msg.status, "DATASET_STATUS_", "status")
    return parse_dataset(data)


def dataset_to_proto(ds: Dataset, registered_at_us: int = 0) -> catalog_pb2.Dataset:
    d = dataset_to_dict(ds)
    return catalog_pb2.Dataset(
        code=ds.code,
        title=ds.title,
        description=ds.description,
        owner=ds.owner,
        kind=enum_value(catalog_pb2.DatasetKind, "DATASET_KIND_", ds.kind.value),
        key_field=ds.key_field,
        key_format=enum_value(catalog_pb2.KeyFormat, "KEY_FORMAT_", ds.key_format.value),
        fields=[
            catalog_pb2.FieldSpec(
                name=f["name"],
                type=f["type"],
                required=bool(f.get("required", False)),
                sensitivity=enum_value(common_pb2.Sensitivity, "SENSITIVITY_", f.get("sensitivity", "internal")),
                description=f.get("description", ""),
            )
            for f in schema_to_list(ds.schema)
        ],
        sharing_type=enum_value(catalog_pb2.SharingType, "SHARING_TYPE_", ds.sharing_type.value),
        legal_basis=ds.legal_basis,
        update_frequency=ds.update_frequency.value,
        version=ds.version,
        status=enum_value(catalog_pb2.DatasetStatus, "DATASET_STATUS_", ds.status.value),
        subject_field=d.get("subject_field", ""),
        validity_field=d.get("validity_field", ""),
        status_field=d.get("status_field", ""),
        theme=ds.theme,
        keywords=list(ds.keywords),
        registered_at_us=registered_at_us,
        resource_code=ds.resource_code,
        classification=list(ds.classification),
        provider_code=ds.provider_code,
        sharing_conditions=ds.sharing_conditions,
        sharing_method=ds.sharing_method.value if ds.sharing_method else "",
        open_attribute=ds.open_attribute.value if ds.open_attribute else "",
        publication_date=ds.publication_date,
    )


# --- departments -------------------------------------------------------------------------------------


def department_from_proto(msg: departments_pb2.Department) -> Department:
    data: dict[str, Any] = {
        "code": msg.code,
        "name": msg.name,
        "name_en": msg.name_en,
        "level": enum_name(departments_pb2.AdminLevel, msg.level, "ADMIN_LEVEL_", "level"),
        "region_code": msg.region_code,
        "keys": [key_to_dict(k, f"keys[{i}]") for i, k in enumerate(msg.keys)],
    }
    if msg.adapter_endpoint:
        data["adapter_endpoint"] = msg.adapter_endpoint
    if msg.status:
        data["status"] = enum_name(departments_pb2.DepartmentStatus, msg.status, "DEPARTMENT_STATUS_", "status")
    return parse_department(data)


def key_to_dict(k: departments_pb2.DepartmentKey, path: str) -> dict[str, Any]:
    return {
        "kid": k.kid,
        "use": enum_name(departments_pb2.KeyUse, k.use, "KEY_USE_", f"{path}.use"),
        "algorithm": k.algorithm,
        "public_key_pem": k.public_key_pem,
        "status": optional_enum(departments_pb2.KeyStatus, k.status, "KEY_STATUS_", f"{path}.status") or "active",
    }


def key_from_proto(k: departments_pb2.DepartmentKey) -> DepartmentKey:
    data = {"code": "X" + "0", "name": "x", "level": "city", "region_code": "000000", "keys": [key_to_dict(k, "key")]}
    return parse_department(data).keys[0]


def department_roles_to_proto(held: DepartmentRoles) -> departments_pb2.DepartmentRoles:
    return departments_pb2.DepartmentRoles(
        department=held.department,
        roles=sorted(r.value for r in held.roles),
        is_default=held.is_default,
        officers=[
            departments_pb2.OfficerRoles(officer_id=officer, roles=sorted(r.value for r in roles))
            for officer, roles in sorted(held.officers.items())
        ],
    )


# --- service items -----------------------------------------------------------------------------------


def service_item_from_proto(msg: items_pb2.ServiceItem) -> ServiceItem:
    data: dict[str, Any] = {
        "code": msg.code,
        "name": msg.name,
        "lead_department": msg.lead_department,
        "co_reviewers": list(msg.co_reviewers),
        "required_materials": [
            {"dataset": m.dataset, "fields": list(m.fields), "mandatory": m.mandatory, "description": m.description}
            for m in msg.required_materials
        ],
        "time_limit_days": msg.time_limit_days,
        "description": msg.description,
    }
    for key in ("basic_code", "implementation_code"):
        if getattr(msg, key):
            data[key] = getattr(msg, key)
    if msg.promised_days:
        data["promised_days"] = msg.promised_days
    return parse_service_item(data)


def service_item_to_proto(item: ServiceItem) -> items_pb2.ServiceItem:
    return items_pb2.ServiceItem(
        code=item.code,
        name=item.name,
        lead_department=item.lead_department,
        co_reviewers=list(item.co_reviewers),
        required_materials=[
            items_pb2.RequiredMaterial(
                dataset=m.dataset, fields=list(m.fields), mandatory=m.mandatory, description=m.description
            )
            for m in item.required_materials
        ],
        time_limit_days=item.time_limit_days,
        promised_days=item.promised_days or 0,
        description=item.description,
        basic_code=item.basic_code,
        implementation_code=item.implementation_code,
    )


# --- grants, receipts, log entries --------------------------------------------------------------------


def grant_to_proto(g: Grant, now_us: int) -> access_pb2.Grant:
    if g.status.value == "revoked":
        status = access_pb2.GRANT_STATUS_REVOKED
    elif g.valid_until_us and g.valid_until_us <= now_us:
        status = access_pb2.GRANT_STATUS_EXPIRED
    else:
        status = access_pb2.GRANT_STATUS_ACTIVE
    return to_message(access_pb2.Grant, g, status=status)


def receipt_to_proto(r: Receipt) -> common_pb2.Receipt:
    return common_pb2.Receipt(log_index=r.index, leaf_hash=r.leaf_hash, log_origin=r.origin)


def entry_to_proto(e: AccessLogEntry, leaf_hash: bytes = b"") -> audit_pb2.AccessLogEntry:
    decision = common_pb2.DECISION_ALLOW if e.decision == "allow" else common_pb2.DECISION_DENY
    return to_message(audit_pb2.AccessLogEntry, e, decision=decision, details=dict(e.details), leaf_hash=leaf_hash)


DEFAULT_PAGE_SIZE = 100


def page_size(page: common_pb2.PageRequest) -> int:
    """The size a page request asks for (100 when unset), within the hub's limit."""
    size = page.page_size or DEFAULT_PAGE_SIZE
    if not 0 < size <= limits.PAGE_SIZE_MAX:
        raise InvalidArgument(
            f"page_size must be between 1 and {limits.PAGE_SIZE_MAX}, got {page.page_size}",
            reason="INVALID_PAGE_SIZE",
            violations=[FieldViolation("page.page_size", f"1..{limits.PAGE_SIZE_MAX}")],
        )
    return size


def page_bounds(page: common_pb2.PageRequest) -> tuple[int, int]:
    """Offset and limit from a page request; the token is the offset as text."""
    size = page_size(page)
    return parse_page_token(page.page_token) or 0, size


def keyset_page(page: common_pb2.PageRequest) -> tuple[int | None, int]:
    """The last index of the previous page (None at the start) and the page size."""
    size = page_size(page)
    return parse_page_token(page.page_token), size


def next_page(offset: int, size: int, returned: int) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_page_token=str(offset + size) if returned == size else "")


def service_item_page(page: common_pb2.PageRequest) -> tuple[str, int]:
    """The code a page of service items starts after ('' at the start) and the page size (a keyset page)."""
    size = page_size(page)
    token = page.page_token
    if token and not SERVICE_ITEM_CODE.fullmatch(token):
        raise InvalidArgument(
            f"page_token {quote(token)} is not one this server issued; pass back next_page_token unchanged "
            "(empty for the first page)",
            reason="PAGE_TOKEN_INVALID",
            violations=[FieldViolation("page.page_token", "a next_page_token of ListServiceItems")],
        )
    return token, size


def next_service_item_page(items: Sequence[ServiceItem], size: int) -> common_pb2.PageResponse:
    """The token of the page after ``items``: the last code, when the page was full."""
    return common_pb2.PageResponse(next_page_token=items[-1].code if items and len(items) == size else "")


# --- cases ---------------------------------------------------------------------------------------------


def _us(value: Any) -> int:
    return from_datetime(value) if value is not None else 0


def savings_to_proto(s: Savings) -> cases_pb2.Savings:
    return to_message(cases_pb2.Savings, s)


def case_to_proto(view: CaseView, language: str = "en") -> cases_pb2.Case:
    """The case on the wire; the timeline's details in `language` (English as recorded, for machines)."""
    c = view.case
    notice = c.correction
    return cases_pb2.Case(
        id=c.id,
        service_item=c.service_item,
        applicant_id=c.applicant_id,
        applicant_kind=c.applicant_kind,
        lead_department=c.lead_department,
        reviewers=list(c.reviewers),
        state=enum_value(cases_pb2.CaseState, "CASE_STATE_", str(c.state)),
        version=c.version,
        submitted_at_us=_us(c.submitted_at),
        accepted_at_us=_us(c.accepted_at),
        deadline_us=_us(c.deadline),
        deadline_state=enum_value(cases_pb2.DeadlineState, "DEADLINE_STATE_", view.deadline.state),
        working_days_left=view.deadline.working_days_left,
        warning_level=str(view.warning),
        correction=cases_pb2.CorrectionNotice(
            missing=list(notice.missing), issued_at_us=_us(notice.issued_at), answered_at_us=_us(notice.answered_at)
        )
        if notice
        else None,
        not_accepted_reasons=list(c.not_accepted_reasons),
        opinions=[
            cases_pb2.Opinion(
                department=o.department,
                officer=o.officer,
                verdict=enum_value(cases_pb2.Verdict, "VERDICT_", str(o.verdict)),
                comment=o.comment,
                at_us=_us(o.at),
            )
            for o in c.opinions.values()
        ],
        events=[
            cases_pb2.CaseEvent(
                at_us=_us(e.at),
                department=e.actor_department,
                officer=e.actor_officer,
                kind=e.kind,
                detail=e.detail if language == "en" else timeline.detail_in(e, language),
            )
            for e in view.timeline
        ],
        savings=savings_to_proto(view.savings),
        title=view.title,
        applicant_name=c.applicant_name,
        parties=[to_message(cases_pb2.CaseParty, p) for p in c.parties],
    )


def party_from_proto(p: cases_pb2.CaseParty) -> PartyInput:
    """The party as sent (bounded to a few times any valid value); the desk validates it."""
    return PartyInput(p.relation[:64], p.party_id[:256], p.kind[:32], p.name[:1000])


def material_to_proto(
    m: Material, document_json: bytes = b"", disclosures: tuple[bytes, ...] = ()
) -> cases_pb2.Material:
    return to_message(
        cases_pb2.Material,
        m,
        provenance=provenance_to_proto(m.provenance(disclosures)),
        receipt=common_pb2.Receipt(
            log_index=m.receipt_index, leaf_hash=m.receipt_leaf_hash, log_origin=m.receipt_origin
        ),
        document_json=document_json,
    )


# --- fetch, access requests, the access log ------------------------------------------------------------


def provenance_to_proto(p: Provenance) -> common_pb2.Provenance:
    """Where a document came from: the one mapping for a fetch's answer and a case's material."""
    return to_message(common_pb2.Provenance, p)


ACCESS_REQUEST_STATUS = "ACCESS_REQUEST_STATUS_"


def access_request_to_proto(r: AccessRequest, now: int) -> access_pb2.AccessRequest:
    status = enum_value(access_pb2.AccessRequestStatus, ACCESS_REQUEST_STATUS, r.status.value)
    return to_message(access_pb2.AccessRequest, r, status=status, overdue=r.overdue_at(now))


def entry_filter(f: audit_pb2.EntryFilter) -> EntryFilter:
    """The domain filter of a request; the decision enum becomes 'allow'/'deny' or nothing."""
    return from_message(
        EntryFilter, f, decision=optional_enum(common_pb2.Decision, f.decision, "DECISION_", "filter.decision")
    )


def checkpoint_to_proto(signed: SignedCheckpoint) -> audit_pb2.Checkpoint:
    c = signed.checkpoint
    return audit_pb2.Checkpoint(
        origin=c.origin, size=c.size, root_hash=c.root_hash, timestamp=c.timestamp, signed_note=signed.note
    )
