"""The console's plumbing: sessions, CSRF, role checks, templates and error pages."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from catalog.model import Department, department_name
from exchange import i18n, localtime
from exchange.app.console_accounts import Account
from exchange.app.wiring import Application
from exchange.cases import timeline
from exchange.console.strings import text
from exchange.error_text import translated_for_people
from exchange.errors import (
    ExchangeError,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HERE = Path(__file__).parent
SESSION_COOKIE = "exchange_console"
# Before sign-in there is no session to hold the CSRF token: the sign-in form uses a cookie of its own.
SIGNIN_CSRF_COOKIE = "exchange_console_signin"
# The language the person chose with the switch on every page (zh-CN or en); no account needed.
LANGUAGE_COOKIE = "exchange_console_lang"
PUBLIC_PATHS = ("/signin", "/static/", "/language")

APP: web.AppKey[Application] = web.AppKey("application", Application)
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates", jinja2.Environment)
BASE: web.AppKey[str] = web.AppKey("base", str)
ACCOUNT: web.RequestKey[Account] = web.RequestKey("account", Account)
SESSION_TOKEN: web.RequestKey[str] = web.RequestKey("session_token", str)
SIGNIN_CSRF: web.RequestKey[str] = web.RequestKey("signin_csrf", str)

_STATUS = {InvalidArgument: 400, Unauthenticated: 401, PermissionDenied: 403, NotFound: 404, ResourceExhausted: 429}


def app_of(request: web.Request) -> Application:
    """The hub's application: the desks and queries the gRPC services use, each decided and logged there."""
    return request.app[APP]


def account_of(request: web.Request) -> Account:
    return request[ACCOUNT]


def local_path(request: web.Request, path: str) -> str:
    """A console URL under wherever the console is mounted."""
    return request.app[BASE] + path


def status_of(error: ExchangeError) -> int:
    return next((code for cls, code in _STATUS.items() if isinstance(error, cls)), 500)


def _when(value: int | datetime | None, seconds: bool = True) -> str:
    """A stored time as people read it: local (the hub's time_zone) with its zone named."""
    return localtime.show(value, seconds=seconds)


def language_of(request: web.Request) -> str:
    """The switch's cookie, else the browser's Accept-Language, else the hub's default_language."""
    chosen = i18n.normalize(request.cookies.get(LANGUAGE_COOKIE, ""))
    default = request.app[APP].hub.settings.default_language if APP in request.app else i18n.DEFAULT
    return chosen or i18n.from_accept_language(request.headers.get("Accept-Language", ""), default) or default


def _department_name(department: Department) -> str:
    """A department's name in the reader's language (English only where it has an English name)."""
    return department_name(department, i18n.current())


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["t"] = text
    env.globals["language"] = i18n.current
    env.globals["languages"] = {"zh-CN": "中文", "en": "English"}
    env.filters["when"] = _when
    env.filters["department_name"] = _department_name
    # A case's timeline in the reader's language (the events keep their sentences: exchange.cases.timeline).
    env.globals.update(step_in=timeline.step_in, detail_in=timeline.detail_in, verdict_in=timeline.verdict_in)
    return env


def render(
    request: web.Request, name: str, context: Mapping[str, Any] | None = None, *, status: int = 200
) -> web.Response:
    """Render a page with the signed-in account, its CSRF token and the console's base path."""
    account = request.get(ACCOUNT)
    html = (
        request.app[TEMPLATES]
        .get_template(name)
        .render(
            account=account,
            csrf=account.csrf_token if account else request.get(SIGNIN_CSRF, ""),
            base=local_path(request, ""),
            request=request,
            **(context or {}),
        )
    )
    return web.Response(text=html, content_type="text/html", status=status)


def errors_by_field(error: ExchangeError) -> dict[str, list[str]]:
    """Field violations keyed by path; the form shows each next to the input of that name."""
    found: dict[str, list[str]] = {}
    for v in error.violations:
        found.setdefault(v.field, []).append(v.description)
    return found


def form_error(message: str, *violations: FieldViolation) -> InvalidArgument:
    """A refusal of what a form sent, naming the inputs at fault."""
    return InvalidArgument(message, reason="INVALID_FORM", violations=list(violations))


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=local_path(request, "/") or "/",
        httponly=True,
        secure=request.secure,
        samesite="Strict",
    )


@web.middleware
async def languages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Serve each request in its person's language (a context variable: requests never mix)."""
    i18n.use(language_of(request))
    response = await handler(request)
    response.headers.setdefault("Content-Language", i18n.current())
    return response


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No framing, no outside scripts or styles, no caching of pages that hold personal data."""
    response = await handler(request)
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith(local_path(request, "/static/")):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@web.middleware
async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Find the account behind the cookie, send strangers to sign-in, and check CSRF on every POST."""
    relative = request.path[len(local_path(request, "")) :]
    if relative.startswith(PUBLIC_PATHS):
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    account = await app_of(request).accounts.account_for(token) if token else None
    if account is None:
        if request.method != "GET":
            raise web.HTTPUnauthorized(text=text("error.signed_out"))
        raise web.HTTPSeeOther(local_path(request, "/signin") + "?next=" + quote(request.path_qs, safe=""))
    request[ACCOUNT] = account
    request[SESSION_TOKEN] = token
    if request.method == "POST":
        form = await request.post()
        if not secrets.compare_digest(str(form.get("csrf_token", "")), account.csrf_token):
            raise web.HTTPForbidden(text=text("error.csrf"))
    return await handler(request)


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A domain refusal becomes a page saying what was refused and why."""
    try:
        return await handler(request)
    except ExchangeError as error:
        localized = translated_for_people(error, i18n.current())
        return render(request, "error.html", {"error": error, "localized": localized}, status=status_of(error))


def safe_next(request: web.Request, given: str) -> str:
    """Only redirect within the console after sign-in (no open redirect)."""
    home = local_path(request, "/")
    if given.startswith(home) and "\\" not in given:
        return given
    return home
