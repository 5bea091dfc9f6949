"""`exchange supervision`: 电子监察 from the command line (figures, warnings, escalations, the periodic report)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from exchange import i18n, localtime
from exchange.cli.common import Profile, emit_rows, output_option, profile_options, run
from exchange.client_supervision import SupervisionReport
from exchange.clock import from_datetime


@click.group("supervision")
def supervision() -> None:
    """电子监察: figures, warnings (红黄牌), escalations and the weekly or monthly report (supervisors)."""


@supervision.command("report")
@click.option("--period", type=click.Choice(["week", "month"]), required=True, help="The last whole week or month.")
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Directory to write to."
)
@profile_options
def supervision_report(period: str, out_dir: Path, profile: Profile) -> None:
    """Write the last whole week's or month's report as PDF and CSV into --out."""

    async def go() -> SupervisionReport:
        async with profile.client() as hub:
            return await hub.supervision_report(period)

    report = run(go())
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, pdf_path = out_dir / f"{report.name}.csv", out_dir / f"{report.name}.pdf"
    csv_path.write_bytes(report.csv)
    pdf_path.write_bytes(report.pdf)
    written = i18n.translate("cli.supervision.report_written", "report {name} written: {csv} and {pdf}")
    click.echo(written.format(name=report.name, csv=csv_path, pdf=pdf_path))


@supervision.command("figures")
@click.option("--since", "since", required=True, help="Start date, local (e.g. 2026-11-01).")
@click.option("--until", "until", default="", help="End date, local, not included (default: now).")
@output_option
@profile_options
def supervision_figures(since: str, until: str, output: str, profile: Profile) -> None:
    """Figures per department and service item: volume, on-time rate, working days, reuse, answers in time."""

    def day(text: str, option: str) -> int:
        try:
            return from_datetime(datetime.fromisoformat(text).replace(tzinfo=localtime.zone()))
        except ValueError:
            said = i18n.tr("cli.supervision.bad_date", "expected a date like 2026-11-01, got {text!r}", text=text)
            raise click.BadParameter(said, param_hint=option) from None

    async def go() -> None:
        async with profile.client() as hub:
            figures = await hub.supervision_figures(
                since_us=day(since, "--since"), until_us=day(until, "--until") if until else 0
            )
        rows = [
            {
                "scope": r.scope,
                "key": r.key,
                "volume": r.volume,
                "on_time": f"{r.on_time_rate:.0%} ({r.finished_on_time}/{r.finished})",
                "avg_days": f"{r.average_working_days:.2f}",
                "pauses": r.pauses,
                "fetched": r.materials_fetched,
                "reused": r.materials_reused,
                "avoided": r.submissions_avoided,
                "answered": f"{r.requests_answered_in_time}/{r.requests_answered}",
                "escalations": r.escalations,
                "warnings": f"{r.yellow_warnings}/{r.red_warnings}",
            }
            for r in figures.rows
        ]
        emit_rows(rows, list(rows[0]) if rows else ["scope", "key"], output)

    run(go())


@supervision.command("warnings")
@click.option("--of", "of_department", default="", help="One lead department (default: every one).")
@output_option
@profile_options
def supervision_warnings(of_department: str, output: str, profile: Profile) -> None:
    """Open cases with a yellow (nearly overdue) or red (overdue) warning now."""

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.list_warnings(of_department)
        if not found and output == "table":
            click.echo(i18n.translate("cli.supervision.no_warnings", "no case has a yellow or red warning now"))
            return
        rows = [
            {
                "case": w.case_id,
                "item": w.service_item,
                "lead": w.lead_department,
                "level": w.level,
                "deadline": localtime.show(w.deadline_us),
                "days_left": f"{w.working_days_left:.2f}",
            }
            for w in found
        ]
        emit_rows(rows, ["case", "item", "lead", "level", "deadline", "days_left"], output)

    run(go())


@supervision.command("escalations")
@click.option("--of", "owner", default="", help="The owner department they count against (default: every one).")
@output_option
@profile_options
def supervision_escalations(owner: str, output: str, profile: Profile) -> None:
    """Access requests whose limit passed unanswered, escalated to the hub's supervisors."""

    async def go() -> None:
        async with profile.client() as hub:
            found = await hub.list_escalations(owner)
        if not found and output == "table":
            click.echo(i18n.translate("cli.supervision.no_escalations", "no access request has been escalated"))
            return
        rows = [
            {
                "id": e.request_id,
                "owner": e.owner,
                "consumer": e.consumer,
                "dataset": e.dataset,
                "due": localtime.show(e.answer_due_us),
                "when": localtime.show(e.escalated_at_us),
            }
            for e in found
        ]
        emit_rows(rows, ["id", "owner", "consumer", "dataset", "due", "when"], output)

    run(go())
