"""Cases: a filtered list and a case page with its timeline, material metadata (never contents) and savings."""

from __future__ import annotations

from aiohttp import web

from exchange.cases.lifecycle import CaseState
from exchange.console.core import account_of, app_of, render
from exchange.console.doors import console_caller
from exchange.errors import InvalidArgument, NotFound, PermissionDenied

routes = web.RouteTableDef()
STATES = tuple(s.value for s in CaseState)


@routes.get("/cases")
async def cases_list(request: web.Request) -> web.Response:
    """Cases filtered by state, department and overdue, newest first (the read is logged by the desk)."""
    account = account_of(request)
    state = request.query.get("state", "")
    state = state if state in STATES else ""
    department = account.department if account.role == "dept_admin" else request.query.get("department", "").strip()
    overdue = request.query.get("overdue") == "on"
    views = await app_of(request).cases.list_cases(
        account.caller, state=state, department=department, overdue_only=overdue, limit=500
    )
    rows = [(v.case, v.deadline, v.warning.value) for v in views]
    return render(
        request,
        "cases.html",
        {"rows": rows, "states": STATES, "state": state, "department": department, "overdue": overdue},
    )


@routes.get("/cases/{id}")
async def case_page(request: web.Request) -> web.Response:
    """One case: its timeline, opinions, the metadata of its materials and what it saved."""
    account = account_of(request)
    case_id = request.match_info["id"]
    try:
        view = await app_of(request).cases.get(account.caller, case_id)
    except PermissionDenied:
        # Refused and logged by the desk; the console does not say whether the case exists.
        raise NotFound(f"no case {case_id!r} that you may see", reason="CASE_NOT_FOUND") from None
    # Metadata only: the console never reads the documents table, for any role.
    holdings = await app_of(request).case_queries.holdings(case_id)
    try:
        # The service item's national codes (基本编码, 实施编码), shown beside its internal code.
        item = await app_of(request).registry.get_service_item(view.case.service_item)
    except NotFound:
        item = None
    return render(
        request,
        "case.html",
        {
            "case": view.case,
            # The same steps as the gRPC timeline: the case's events and its materials (CaseView.timeline).
            "timeline": view.timeline,
            "deadline": view.deadline,
            "warning": view.warning.value,
            "materials": holdings.materials,
            "savings": view.savings,
            "flags": holdings.flags,
            "item": item,
        },
    )


@routes.get("/cases/{id}/materials/{dataset}/annotated-copy.pdf")
async def annotated_copy(request: web.Request) -> web.Response:
    """The hub-signed annotated copy (加注件) of a case material, for the case's departments only."""
    desk = app_of(request).copies
    try:
        version = int(request.query.get("version", "0"))
    except ValueError:
        raise InvalidArgument("version must be a whole number", reason="VERSION_INVALID") from None
    case_id, dataset = request.match_info["id"][:40], request.match_info["dataset"][:64]
    # A department's account reads as its officers do (the door decided the same); the desk decides the rest.
    caller = console_caller(account_of(request), "cases.material.annotated_copy")
    copy = await desk.annotated_copy(caller, case_id, dataset, version)
    return web.Response(
        body=copy.pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{case_id}-{dataset}-v{copy.material.version}.pdf"',
            "Digest": f"sha-256={copy.sha256}",
            "Cache-Control": "no-store",
        },
    )
