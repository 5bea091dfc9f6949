"""The access-request inbox: a department admin answers requests for its datasets; overdue ones stand out."""

from __future__ import annotations

from aiohttp import web

from exchange.clock import now_us
from exchange.console.core import account_of, app_of, errors_by_field, local_path, render
from exchange.errors import InvalidArgument

routes = web.RouteTableDef()
STATUSES = ("pending", "approved", "denied", "withdrawn")
VIEWS = ("overdue", "all")  # pending past the answer's due time; every request
TABS = ("pending", "overdue", "approved", "denied", "withdrawn", "all")


@routes.get("/requests")
async def requests_inbox(request: web.Request) -> web.Response:
    """Requests for the department's datasets (all of them for hub admins and auditors), pending first."""
    return await _inbox(request)


async def _inbox(request: web.Request, error: InvalidArgument | None = None, failed_id: str = "") -> web.Response:
    account = account_of(request)
    status = request.query.get("status", "pending")
    status = status if status in (*STATUSES, *VIEWS) else "pending"
    found = await app_of(request).registry.list_access_requests(
        account.caller,
        owner=account.department if account.role == "dept_admin" else "",
        status="" if status in VIEWS else status,
        overdue_only=status == "overdue",
        limit=500,
    )
    return render(
        request,
        "requests.html",
        {
            "requests": found,
            "status": status,
            "statuses": TABS,
            "now_us": now_us(),
            "error": error,
            "errors": errors_by_field(error) if error else {},
            "failed_id": failed_id,
        },
        status=400 if error else 200,
    )


@routes.post("/requests/{id}/decide")
async def request_decide(request: web.Request) -> web.Response:
    """Approve (which creates the grant) or deny with a reason; both are written to the access log."""
    request_id = request.match_info["id"]
    form = await request.post()
    approve = form.get("decision") == "approve"
    try:
        await app_of(request).registry.decide_access_request(
            request_id, approve=approve, reason=str(form.get("reason", "")), caller=account_of(request).caller
        )
    except InvalidArgument as error:
        return await _inbox(request, error, request_id)
    raise web.HTTPSeeOther(local_path(request, f"/requests?status={'approved' if approve else 'denied'}"))
