"""The web console: administrators and auditors do their daily work in a browser.

Server-rendered pages (aiohttp + Jinja2) on the hub's own loop, mounted under
/console/. Every page works through the same domain operations as the gRPC API
(the application's desks and queries, exchange.app), so the rules and the access log are the same: each route
asks for one operation of the policy (exchange.console.doors), decided before the page runs.
All words shown to people live in `strings`, translated through exchange/locale (zh-CN first).
"""

from __future__ import annotations

from aiohttp import web

from exchange.app.wiring import Application
from exchange.console import (
    pages_auth,
    pages_cases,
    pages_catalog,
    pages_log,
    pages_registry,
    pages_requests,
    pages_supervision,
    pages_tickets,
)
from exchange.console.core import (
    APP,
    BASE,
    HERE,
    TEMPLATES,
    error_pages,
    languages,
    security_headers,
    sessions,
    templates,
)
from exchange.console.doors import doors

MOUNT = "/console"


def console_app(application: Application, *, base: str = MOUNT) -> web.Application:
    """The console as an aiohttp sub-application (mount it at `base`) over the hub's application."""
    app = web.Application(
        middlewares=[languages, security_headers, error_pages, sessions, doors], client_max_size=2 << 20
    )
    app[APP] = application
    app[TEMPLATES] = templates()
    app[BASE] = base
    pages = (
        pages_auth,
        pages_catalog,
        pages_registry,
        pages_requests,
        pages_cases,
        pages_log,
        pages_supervision,
        pages_tickets,
    )
    for module in pages:
        app.add_routes(module.routes)
    app.router.add_static("/static/", HERE / "static")
    return app


def mount(parent: web.Application, application: Application) -> None:
    """Serve the console at /console/ and send / there."""

    async def to_console(_: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(MOUNT + "/")

    parent.router.add_get("/", to_console)
    parent.add_subapp(MOUNT + "/", console_app(application))


__all__ = ["MOUNT", "console_app", "mount"]
