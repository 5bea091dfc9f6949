"""The console's map: every route to the policy operation it asks for, and the door that decides it.

The middleware `doors` decides each request's operation for the signed-in account's caller before the
page runs (the role; the domain decides the rest with the facts) and logs a refusal through the one
recorder. A route missing here is refused for everyone; tests/integration/policy/test_every_door.py
fails when a route of the console has no row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from exchange.app.console_accounts import Account
from exchange.audit.recorder import refusal_of
from exchange.auth.identity import Caller, Role
from exchange.console.core import ACCOUNT, BASE, app_of
from exchange.policy import OPERATIONS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# (method, route as the console declares it, without its mount point) -> operation.
ROUTE_OPERATIONS: dict[tuple[str, str], str] = {
    ("GET", "/signin"): "console.sign_in",
    ("POST", "/signin"): "console.sign_in",
    ("GET", "/language"): "console.sign_in",
    ("GET", "/static"): "console.sign_in",
    ("POST", "/signout"): "console.sign_out",
    ("GET", "/"): "console.home",
    ("GET", "/catalog"): "catalog.dataset.list",
    ("GET", "/catalog/new"): "catalog.dataset.register",
    ("GET", "/catalog/{code}"): "catalog.dataset.read",
    ("GET", "/catalog/{code}/edit"): "catalog.dataset.register",
    ("POST", "/catalog/save"): "catalog.dataset.register",
    ("POST", "/catalog/upload"): "catalog.dataset.register",
    ("GET", "/departments"): "departments.list",
    ("POST", "/departments"): "departments.register",
    ("GET", "/departments/{code}"): "departments.read",
    ("POST", "/departments/{code}/keys"): "departments.key.add",
    ("POST", "/departments/{code}/status"): "departments.status.set",
    ("GET", "/departments/{code}/keys/{kid}/retire"): "departments.key.retire",
    ("POST", "/departments/{code}/keys/{kid}/retire"): "departments.key.retire",
    ("GET", "/items"): "items.list",
    ("GET", "/items/new"): "items.register",
    ("GET", "/items/{code}"): "items.read",
    ("POST", "/items"): "items.register",
    ("GET", "/requests"): "access_requests.list",
    ("POST", "/requests/{id}/decide"): "access_requests.decide",
    ("GET", "/cases"): "cases.list",
    ("GET", "/cases/{id}"): "cases.read",
    ("GET", "/cases/{id}/materials/{dataset}/annotated-copy.pdf"): "cases.material.annotated_copy",
    ("GET", "/log"): "audit.entries.query",
    ("GET", "/log/entry/{index}"): "audit.entry.read",
    ("POST", "/log/verify"): "audit.log.verify",
    ("GET", "/log/export.{fmt}"): "audit.log.export",
    ("GET", "/report"): "audit.subject_report.read",
    ("GET", "/supervision"): "supervision.figures.read",
    ("GET", "/supervision/report.{format}"): "supervision.report.read",
    ("GET", "/tickets"): "tickets.list",
    ("POST", "/tickets/{id}/answer"): "tickets.answer",
    ("POST", "/cases/{id}/materials/{dataset}/tickets"): "tickets.open",
}

UNMAPPED = "console.unmapped"


def route_of(request: web.Request) -> tuple[str, str] | None:
    """(method, route) of the request's matched route, as ROUTE_OPERATIONS keys it; None when nothing matched."""
    resource = request.match_info.route.resource
    if resource is None:
        return None
    method = "GET" if request.method == "HEAD" else request.method
    path = resource.canonical.removeprefix(request.app[BASE]) or "/"
    return method, path


def console_caller(account: Account, operation: str) -> Caller:
    """Who the account asks as: a department's console account acts as its department's officers for an
    operation only officers may ask for (its page is their system); every other account asks as itself."""
    caller = account.caller
    rule = OPERATIONS.get(operation)
    if rule is not None and account.is_role("dept_admin") and rule.roles <= frozenset({Role.OFFICER}):
        return Caller(caller.department, caller.officer_id, frozenset({Role.OFFICER}), caller.token_id, 0)
    return caller


def operation_of(request: web.Request) -> str:
    key = route_of(request)
    return ROUTE_OPERATIONS.get(key, UNMAPPED) if key else UNMAPPED


@web.middleware
async def doors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Decide the route's operation for the signed-in caller; a refusal is logged and shown as a page."""
    if route_of(request) is None:
        return await handler(request)  # nothing matched: aiohttp answers 404
    operation = operation_of(request)
    rule = OPERATIONS.get(operation)
    if rule is not None and rule.public:
        return await handler(request)
    account = request.get(ACCOUNT)
    if account is None:  # only public routes are reached without a session (the sessions middleware)
        raise web.HTTPUnauthorized()
    caller = console_caller(account, operation)
    refused = refusal_of(caller, operation, details={"route": request.path})
    if refused is not None:
        error, entry = refused
        await app_of(request).hub.record(entry)
        raise error
    return await handler(request)
