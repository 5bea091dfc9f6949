"""Cases: a filtered list and a case page with its timeline, material metadata (never contents) and savings."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from catalog.errors import NotFound
from exchange.cases.lifecycle import CaseState
from exchange.cases.model import Case, deadline_status
from exchange.console.accounts import Account
from exchange.console.core import account_of, hub_of, render
from exchange.storage import case_store

routes = web.RouteTableDef()
STATES = tuple(s.value for s in CaseState)


def _involved(case: Case) -> tuple[str, ...]:
    return (case.lead_department, *case.reviewers)


def _visible(account: Account, case: Case) -> bool:
    """Department admins see the cases their department leads or reviews; hub admins and auditors see all."""
    return account.role != "dept_admin" or account.department in _involved(case)


@routes.get("/cases")
async def cases_list(request: web.Request) -> web.Response:
    """Cases filtered by state, department and overdue, newest first."""
    account = account_of(request)
    state = request.query.get("state", "")
    state = state if state in STATES else ""
    department = account.department if account.role == "dept_admin" else request.query.get("department", "").strip()
    overdue = request.query.get("overdue") == "on"
    hub = hub_of(request)
    async with hub.db.read() as conn:
        found = await case_store.list_cases(conn, state=state, department=department, open_only=overdue, limit=500)
    now = datetime.now(UTC)
    rows = [(c, deadline_status(c, now, hub.calendar)) for c in found]
    if overdue:
        rows = [(c, d) for c, d in rows if d.state == "overdue"]
    return render(
        request,
        "cases.html",
        {"rows": rows, "states": STATES, "state": state, "department": department, "overdue": overdue},
    )


@routes.get("/cases/{id}")
async def case_page(request: web.Request) -> web.Response:
    """One case: its timeline, opinions, the metadata of its materials and what it saved."""
    account = account_of(request)
    hub = hub_of(request)
    case_id = request.match_info["id"]
    async with hub.db.read() as conn:
        case = await case_store.get_case(conn, case_id)
        if case is None or not _visible(account, case):
            raise NotFound(f"no case {case_id!r} that you may see", reason="CASE_NOT_FOUND")
        # Metadata only: the console never reads the documents table, for any role.
        materials = await case_store.list_materials(conn, case_id)
        savings = await case_store.savings(conn, case_id=case_id)
    return render(
        request,
        "case.html",
        {
            "case": case,
            "deadline": deadline_status(case, datetime.now(UTC), hub.calendar),
            "materials": materials,
            "savings": savings,
        },
    )
