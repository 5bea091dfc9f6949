"""`exchange calendar`: the working-day calendar deadlines are counted on (holidays and make-up days)."""

from __future__ import annotations

from datetime import date

import click

from exchange.cases.calendar import WorkingCalendar, hub_calendar, load_calendar, uncovered_years
from exchange.cli.common import fail
from exchange.errors import ExchangeError
from exchange.i18n import N_, translate

HOLIDAY = N_("cli.calendar.holiday", "holiday")
MAKEUP = N_("cli.calendar.makeup", "make-up working day")
YEARS = N_("cli.calendar.years", "years with holiday data: {years}")
SOURCES = N_("cli.calendar.sources", "from: {sources}")
MISSING = N_("cli.calendar.missing", "no holiday data for {years}: deadlines there count Monday to Friday only")
VALID = N_("cli.calendar.valid", "{file} is valid: {holidays} holidays, {makeup} make-up working days in {years}")
WEEKDAYS = N_("cli.calendar.weekdays", "Mon Tue Wed Thu Fri Sat Sun")


@click.group("calendar")
def calendar() -> None:
    """The working-day calendar: the State Council's holidays shipped for 2025 and 2026, and yours."""


@calendar.command("show")
@click.option("--file", "extra", type=click.Path(exists=True), help="calendar_file: a YAML file or folder laid over.")
@click.option("--year", type=int, help="Only this year's days.")
@click.option("--no-shipped", is_flag=True, help="Leave out the shipped years (calendar_shipped: false).")
def show(extra: str | None, year: int | None, no_shipped: bool) -> None:
    """List the holidays and make-up working days the hub counts deadlines with."""
    try:
        working = hub_calendar(extra, shipped=not no_shipped)
    except ExchangeError as error:
        fail(error)
    _print_days(working, year)
    click.echo(translate("cli.calendar.years", YEARS).format(years=", ".join(map(str, sorted(working.years))) or "—"))
    if working.sources:
        click.echo(translate("cli.calendar.sources", SOURCES).format(sources="; ".join(working.sources)))
    missing = uncovered_years(working, date.today())
    if missing:
        click.secho(translate("cli.calendar.missing", MISSING).format(years=", ".join(map(str, missing))), fg="yellow")


@calendar.command("check")
@click.argument("file", type=click.Path(exists=True))
def check(file: str) -> None:
    """Check a calendar file (next year's notice) before it goes into calendar_file."""
    try:
        loaded = load_calendar(file)
    except ExchangeError as error:
        fail(error)
    click.echo(
        translate("cli.calendar.valid", VALID).format(
            file=file,
            holidays=len(loaded.holidays),
            makeup=len(loaded.makeup_workdays),
            years=", ".join(map(str, sorted(loaded.years))),
        )
    )


def _print_days(working: WorkingCalendar, year: int | None) -> None:
    names = translate("cli.calendar.weekdays", WEEKDAYS).split()
    days = [(d, translate("cli.calendar.holiday", HOLIDAY)) for d in working.holidays]
    days += [(d, translate("cli.calendar.makeup", MAKEUP)) for d in working.makeup_workdays]
    for day, kind in sorted(d for d in days if year is None or d[0].year == year):
        click.echo(f"{day.isoformat()} {names[day.weekday()]}  {kind}")
