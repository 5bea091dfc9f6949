"""Correction tickets (校核纠错): the list (opened by the department, or its to answer), opening one from a case
material, and the issuer's answer. The ticket desk decides and logs every step, as for the gRPC TicketService."""

from __future__ import annotations

from aiohttp import web

from exchange.clock import now_us
from exchange.console.core import account_of, app_of, errors_by_field, local_path, render
from exchange.console.doors import console_caller
from exchange.errors import InvalidArgument
from exchange.tickets import Answer

routes = web.RouteTableDef()
STATES = ("open", "answered", "all")


@routes.get("/tickets")
async def tickets_list(request: web.Request) -> web.Response:
    """Tickets the department opened or must answer (every ticket for auditors and hub admins)."""
    return await _list(request)


async def _list(request: web.Request, error: InvalidArgument | None = None, failed_id: str = "") -> web.Response:
    account = account_of(request)
    state = request.query.get("state", "open")
    state = state if state in STATES else "open"
    found = await app_of(request).tickets.list(
        console_caller(account, "tickets.list"), state="" if state == "all" else state
    )
    return render(
        request,
        "tickets.html",
        {
            "tickets": found,
            "state": state,
            "states": STATES,
            "answers": [a.value for a in Answer],
            "now_us": now_us(),
            "error": error,
            "errors": errors_by_field(error) if error else {},
            "failed_id": failed_id,
        },
        status=400 if error else 200,
    )


@routes.post("/tickets/{id}/answer")
async def ticket_answer(request: web.Request) -> web.Response:
    """The issuer's department admin answers corrected, no error or cannot correct, with a reason."""
    ticket_id = request.match_info["id"]
    form = await request.post()
    try:
        await app_of(request).tickets.answer(
            account_of(request).caller, ticket_id, str(form.get("answer", "")), str(form.get("reason", ""))
        )
    except InvalidArgument as error:
        return await _list(request, error, ticket_id)
    raise web.HTTPSeeOther(local_path(request, "/tickets?state=answered"))


@routes.post("/cases/{id}/materials/{dataset}/tickets")
async def ticket_open(request: web.Request) -> web.Response:
    """Open a ticket on a material the case holds (the department's console account acts as its officers)."""
    case_id, dataset = request.match_info["id"], request.match_info["dataset"]
    form = await request.post()
    fields = [f.strip() for f in str(form.get("fields", "")).split(",") if f.strip()]
    caller = console_caller(account_of(request), "tickets.open")
    try:
        await app_of(request).tickets.open(
            caller,
            case_id,
            dataset,
            fields,
            str(form.get("reason", "")),
            str(form.get("evidence_text", "")),
            str(form.get("evidence_digest", "")),
        )
    except InvalidArgument as error:
        return await _list(request, error)
    raise web.HTTPSeeOther(local_path(request, "/tickets?state=open"))
