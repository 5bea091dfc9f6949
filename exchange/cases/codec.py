"""A case to and from the JSON kept in storage (the whole record: timeline, opinions, correction notice)."""

from __future__ import annotations

import json
from datetime import datetime
from types import MappingProxyType
from typing import Any

from exchange.cases.lifecycle import CaseState
from exchange.cases.model import Case, CaseEvent, CorrectionNotice
from exchange.cases.parties import CaseParty
from exchange.cases.review import Opinion, Verdict
from exchange.errors import DataLoss

FORMAT = 1


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def case_to_json(case: Case) -> str:
    """Canonical JSON of the whole case."""
    notice = case.correction
    data: dict[str, Any] = {
        "format": FORMAT,
        "id": case.id,
        "service_item": case.service_item,
        "applicant_id": case.applicant_id,
        "applicant_kind": case.applicant_kind,
        "lead_department": case.lead_department,
        "reviewers": list(case.reviewers),
        "state": str(case.state),
        "version": case.version,
        "submitted_at": _t(case.submitted_at),
        "accepted_at": _t(case.accepted_at),
        "deadline": _t(case.deadline),
        "paused": [[_t(a), _t(b)] for a, b in case.paused],
        "correction": None
        if notice is None
        else {
            "missing": list(notice.missing),
            "issued_at": _t(notice.issued_at),
            "answered_at": _t(notice.answered_at),
            "requested_in": str(notice.requested_in),
        },
        "not_accepted_reasons": list(case.not_accepted_reasons),
        "opinions": [
            {
                "department": o.department,
                "officer": o.officer,
                "verdict": str(o.verdict),
                "comment": o.comment,
                "at": _t(o.at),
            }
            for o in case.opinions.values()
        ],
        "events": [
            {
                "at": _t(e.at),
                "department": e.actor_department,
                "officer": e.actor_officer,
                "kind": e.kind,
                "detail": e.detail,
                # The detail's sentence for each reader's language (exchange.cases.timeline); absent in older records.
                **({"detail_key": e.detail_key, "values": dict(e.values)} if e.detail_key else {}),
            }
            for e in case.events
        ],
        "parties": [
            {"relation": p.relation, "party_id": p.party_id, "kind": p.kind, "name": p.name} for p in case.other_parties
        ],
        "applicant_name": case.applicant_name,
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def case_from_json(text: str) -> Case:
    """The case stored as ``text``; DataLoss if the stored record is unreadable."""
    try:
        d = json.loads(text)
        notice = d["correction"]
        opinions = {
            o["department"]: Opinion(o["department"], o["officer"], Verdict(o["verdict"]), o["comment"], _req(o["at"]))
            for o in d["opinions"]
        }
        return Case(
            id=d["id"],
            service_item=d["service_item"],
            applicant_id=d["applicant_id"],
            applicant_kind=d["applicant_kind"],
            lead_department=d["lead_department"],
            reviewers=tuple(d["reviewers"]),
            state=CaseState(d["state"]),
            version=int(d["version"]),
            submitted_at=_req(d["submitted_at"]),
            accepted_at=_dt(d["accepted_at"]),
            deadline=_dt(d["deadline"]),
            paused=tuple((_req(a), _dt(b)) for a, b in d["paused"]),
            correction=None
            if notice is None
            else CorrectionNotice(
                tuple(notice["missing"]),
                _req(notice["issued_at"]),
                _dt(notice["answered_at"]),
                CaseState(notice["requested_in"]),
            ),
            not_accepted_reasons=tuple(d["not_accepted_reasons"]),
            opinions=MappingProxyType(opinions),
            events=tuple(
                CaseEvent(
                    _req(e["at"]),
                    e["department"],
                    e["officer"],
                    e["kind"],
                    e["detail"],
                    e.get("detail_key", ""),
                    MappingProxyType({str(k): str(v) for k, v in e.get("values", {}).items()}),
                )
                for e in d["events"]
            ),
            # Cases stored before parties were recorded have the applicant alone.
            other_parties=tuple(
                CaseParty(p["relation"], p["party_id"], p["kind"], p["name"]) for p in d.get("parties", ())
            ),
            applicant_name=d.get("applicant_name", ""),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DataLoss(f"a stored case record cannot be read ({error!r})", reason="CASE_RECORD_CORRUPT") from error


def _req(value: str) -> datetime:
    parsed = _dt(value)
    if parsed is None:
        raise ValueError("a required time is missing")
    return parsed
