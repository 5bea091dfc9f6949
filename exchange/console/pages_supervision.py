"""电子监察 dashboard: figures per department and service item with charts, warnings, escalations, reports."""

from __future__ import annotations

from aiohttp import web

from exchange import localtime
from exchange.audit.recorder import entry_of
from exchange.console import charts, convert
from exchange.console.core import account_of, app_of, render
from exchange.console.strings import text
from exchange.supervision.figures import DEPARTMENT, ITEM

routes = web.RouteTableDef()


@routes.get("/supervision")
async def dashboard(request: web.Request) -> web.Response:
    """Figures, charts, warnings and escalations over a period (metadata only; the read is logged)."""
    hub = app_of(request).hub
    account = account_of(request)
    since, until = convert.period(request.query)
    desk = app_of(request).supervision
    figures = await desk.figures(since, until)
    warnings = await desk.warnings()
    escalations = await desk.escalations()
    await hub.record(
        entry_of(account.caller, "supervision.figures.read", details={"since_us": str(since), "until_us": str(until)})
    )
    departments = [r for r in figures.sorted_rows() if r.scope == DEPARTMENT]
    items = [r for r in figures.sorted_rows() if r.scope == ITEM]
    finished = [r for r in departments if r.finished]
    context = {
        "since": localtime.show(since),
        "until": localtime.show(until),
        "from_value": request.query.get("from", ""),
        "to_value": request.query.get("to", ""),
        "departments": departments,
        "items": items,
        "refusals": sorted(figures.refusals.items(), key=lambda kv: (-kv[1], kv[0])),
        "warnings": warnings,
        "escalations": escalations,
        "volume_chart": charts.bars([(r.key, r.volume) for r in departments], text("supervision.chart_volume")),
        "on_time_chart": charts.bars(
            [(r.key, r.on_time_rate) for r in finished], text("supervision.chart_on_time"), percent=True
        ),
        "warning_chart": charts.warning_bars(
            [(r.key, r.yellow_warnings, r.red_warnings) for r in departments], text("supervision.chart_warnings")
        ),
    }
    return render(request, "supervision.html", context)


@routes.get("/supervision/report.{format}")
async def report_file(request: web.Request) -> web.Response:
    """The last whole week's or month's report as CSV or PDF."""
    period, file_format = request.query.get("period", "week"), request.match_info["format"]
    if file_format not in ("csv", "pdf"):
        raise web.HTTPNotFound()
    report = await app_of(request).supervision.report(period)
    await app_of(request).hub.record(
        entry_of(account_of(request).caller, "supervision.report.read", details={"period": period, "name": report.name})
    )
    body, content_type = (report.csv, "text/csv") if file_format == "csv" else (report.pdf, "application/pdf")
    return web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8" if file_format == "csv" else None,
        headers={"Content-Disposition": f'attachment; filename="{report.name}.{file_format}"'},
    )
