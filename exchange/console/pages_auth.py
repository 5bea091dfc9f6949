"""Sign-in, sign-out and the home page."""

from __future__ import annotations

import contextlib
import secrets

from aiohttp import web

from exchange import i18n
from exchange.app.console_accounts import SESSION_SECONDS
from exchange.cases.desk import OVERDUE_SCAN_LIMIT
from exchange.console.core import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    SESSION_TOKEN,
    SIGNIN_CSRF,
    SIGNIN_CSRF_COOKIE,
    account_of,
    app_of,
    local_path,
    render,
    safe_next,
    set_cookie,
    status_of,
)
from exchange.console.strings import text
from exchange.errors import ExchangeError, PermissionDenied

routes = web.RouteTableDef()


def _address(request: web.Request) -> str:
    # The TCP peer, not X-Forwarded-For: a client could otherwise pick its own rate-limit bucket.
    return (request.remote or "unknown")[:64]


def _signin_page(request: web.Request, *, error: str = "", username: str = "", status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(24)
    request[SIGNIN_CSRF] = token
    response = render(
        request,
        "signin.html",
        {"error": error, "username": username, "next": request.query.get("next", "")},
        status=status,
    )
    set_cookie(request, response, SIGNIN_CSRF_COOKIE, token, 3600)
    return response


@routes.get("/signin")
async def signin_form(request: web.Request) -> web.Response:
    """The sign-in form."""
    return _signin_page(request)


@routes.post("/signin")
async def signin(request: web.Request) -> web.StreamResponse:
    """Check the password; on success set the session cookie and go where the person was heading."""
    form = await request.post()
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(str(form.get("csrf_token", "")), expected):
        return _signin_page(request, error=text("error.csrf"), status=403)
    username = str(form.get("username", "")).strip()
    try:
        token = await app_of(request).accounts.sign_in(username, str(form.get("password", "")), _address(request))
    except ExchangeError as error:
        return _signin_page(request, error=error.message, username=username, status=status_of(error))
    response = web.HTTPSeeOther(safe_next(request, str(form.get("next", ""))))
    set_cookie(request, response, SESSION_COOKIE, token, SESSION_SECONDS)
    response.del_cookie(SIGNIN_CSRF_COOKIE, path=local_path(request, "/"))
    raise response


@routes.post("/signout")
async def signout(request: web.Request) -> web.StreamResponse:
    """End the session on the server, not only in the browser."""
    await app_of(request).accounts.sign_out(request[SESSION_TOKEN], account_of(request))
    response = web.HTTPSeeOther(local_path(request, "/signin"))
    response.del_cookie(SESSION_COOKIE, path=local_path(request, "/"))
    raise response


# The overview warns of department certificates expiring within this many days (the alert rule's threshold).
CERTIFICATE_WARNING_DAYS = 30


@routes.get("/", name="home")
async def home(request: web.Request) -> web.Response:
    """Counts of what the hub holds and links to the daily work."""
    account = account_of(request)
    hub = app_of(request).hub
    figures = await app_of(request).catalog.overview_counts(account.department if account.role == "dept_admin" else "")
    size, root = await hub.access_log.head()
    expiring = [
        {"department": code, "days": max(0, int(days))}
        for code, days in hub.expiring_certificates(CERTIFICATE_WARNING_DAYS)
        if account.role != "dept_admin" or code == account.department
    ]
    # Overdue work, as far as the account may see it: the case desk and the registry decide (and log the read).
    scope = account.department if account.role == "dept_admin" else ""
    late_cases: int | None = None
    late_requests: int | None = None
    with contextlib.suppress(PermissionDenied):
        late_cases = len(
            await app_of(request).cases.overdue(account.caller, scope, include_nearly=False, limit=OVERDUE_SCAN_LIMIT)
        )
    with contextlib.suppress(PermissionDenied):
        late_requests = len(
            await app_of(request).registry.list_access_requests(
                account.caller, owner=scope, overdue_only=True, limit=OVERDUE_SCAN_LIMIT
            )
        )
    shown: dict[str, int | None] = {**figures, "overdue_cases": late_cases, "overdue_requests": late_requests}
    return render(request, "home.html", {"figures": shown, "log_size": size, "root": root.hex(), "expiring": expiring})


@routes.get("/language")
async def choose_language(request: web.Request) -> web.StreamResponse:
    """The switch on every page: remember the language for a year and go back to the page it was on."""
    chosen = i18n.normalize(request.query.get("to", "")) or i18n.DEFAULT
    response = web.HTTPSeeOther(safe_next(request, request.query.get("next", "")))
    set_cookie(request, response, LANGUAGE_COOKIE, chosen, 365 * 24 * 3600)
    raise response
