"""The supervision desk: figures, warnings, escalations and reports for SupervisionService, console and CLI."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from exchange.app import case_records
from exchange.audit.entry import AccessLogEntry
from exchange.clock import from_datetime, now_us, to_datetime
from exchange.errors import FieldViolation, InvalidArgument, quote
from exchange.hub import Hub
from exchange.storage import log_store, supervision_store
from exchange.storage.supervision_store import SentEvent
from exchange.supervision import figures as f
from exchange.supervision.levels import WarningLevel, warning_level
from exchange.supervision.report import figures_csv, figures_pdf

PAGE = 500
PERIODS = ("week", "month")


@dataclass(frozen=True)
class CaseWarning:
    """An open case with a warning level now."""

    case_id: str
    service_item: str
    lead_department: str
    level: WarningLevel
    deadline_us: int
    working_days_left: float


def period_bounds(period: str, at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime, str]:
    """The last whole week (Monday to Sunday) or calendar month before ``at``, local dates; and its name."""
    local = at.astimezone(tz)
    today = local.date()
    if period == "week":
        this_monday = today - timedelta(days=today.weekday())
        start, end = this_monday - timedelta(days=7), this_monday
        name = f"week-{start.isocalendar().year}-W{start.isocalendar().week:02d}"
    elif period == "month":
        end = today.replace(day=1)
        start = (end - timedelta(days=1)).replace(day=1)
        name = f"month-{start:%Y-%m}"
    else:
        raise InvalidArgument(
            f"period must be week or month; got {quote(period)}",
            reason="UNKNOWN_PERIOD",
            violations=[FieldViolation("period", "week or month")],
        )
    return _midnight(start, tz), _midnight(end, tz), name


def _midnight(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, time(), tzinfo=tz)


class SupervisionDesk:
    """Reads what supervisors see; writes nothing but the reports."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def figures(self, since_us: int, until_us: int = 0) -> f.Figures:
        """Figures over [since_us, until_us) (0: until now, on the access log's clock)."""
        until_us = until_us or now_us()
        if since_us < 0 or until_us <= since_us:
            raise InvalidArgument(
                f"the period must start before it ends; got since_us={since_us}, until_us={until_us}",
                reason="INVALID_PERIOD",
                violations=[FieldViolation("since_us", "before until_us")],
            )
        result = f.Figures(since_us, until_us)
        f.count_log(result, await self._entries(since_us, until_us))
        f.count_cases(result, await self._cases(), self.hub.calendar)
        async with self.hub.db.read() as conn:
            sent = await supervision_store.list_sent(conn, kind="warning", since_us=since_us, until_us=until_us)
        f.count_warnings(result, sent)
        return result

    async def _entries(self, since_us: int, until_us: int) -> list[AccessLogEntry]:
        found: list[AccessLogEntry] = []
        after: int | None = None
        window = log_store.EntryFilter(from_us=since_us, until_us=until_us)
        while True:
            async with self.hub.db.read() as conn:
                page = await log_store.query_entries(conn, window, after=after, limit=PAGE)
            found.extend(s.entry for s in page)
            if len(page) < PAGE:
                return found
            after = page[-1].entry.index

    async def _cases(self, *, open_only: bool = False, department: str = "") -> list[case_records.StoredCase]:
        found: list[case_records.StoredCase] = []
        offset = 0
        while True:
            async with self.hub.db.read() as conn:
                where = case_records.CaseQuery(department=department, offset=offset, limit=PAGE)
                page = await case_records.list_stored_cases(conn, where, open_only=open_only)
            found.extend(page)
            if len(page) < PAGE:
                return found
            offset += PAGE

    async def warnings(self, department: str = "") -> list[CaseWarning]:
        """Open cases (led by ``department``, or every one) with a yellow or red warning at the hub's clock."""
        now = to_datetime(self.hub.clock())
        found = []
        for stored in await self._cases(open_only=True):
            case = stored.case
            if department and case.lead_department != department:
                continue
            level = warning_level(case, now, self.hub.calendar, self.hub.settings.yellow_working_days)
            if level is WarningLevel.NONE or case.deadline is None:
                continue
            left = self.hub.calendar.working_days_left(now, case.deadline)
            found.append(
                CaseWarning(case.id, case.service_item, case.lead_department, level, from_datetime(case.deadline), left)
            )
        return sorted(found, key=lambda w: (w.level != WarningLevel.RED, w.deadline_us, w.case_id))

    async def escalations(self, owner: str = "") -> list[SentEvent]:
        """Access requests escalated to the supervisors, counted against ``owner`` (or every department)."""
        async with self.hub.db.read() as conn:
            return await supervision_store.list_sent(conn, kind="escalation", owner=owner, limit=10_000)

    async def report(self, period: str, at_us: int = 0) -> Report:
        """The report of the last whole week or month before ``at_us`` (0: the hub's clock)."""
        at = to_datetime(at_us or self.hub.clock())
        start, end, name = period_bounds(period, at, self.hub.calendar.tz)
        figures = await self.figures(from_datetime(start), from_datetime(end))
        # Drawing and subsetting the font takes a while: off the event loop.
        pdf = await asyncio.to_thread(figures_pdf, figures, name)
        return Report(name, figures, figures_csv(figures), pdf)

    async def write_due_reports(self, directory: Path) -> list[Path]:
        """Write the last week's and month's reports unless a replica already did (claimed once); the files."""
        written: list[Path] = []
        now = self.hub.clock()
        department = self.hub.settings.hub_department
        for period in PERIODS:
            _, _, name = period_bounds(period, to_datetime(now), self.hub.calendar.tz)
            async with self.hub.db.begin() as conn:
                claim = SentEvent("report", name, "written", department, department, now, {"period": period})
                if not await supervision_store.claim(conn, claim):
                    continue
            report = await self.report(period, now)
            written.extend(await asyncio.to_thread(write_files, report, directory))
        return written


@dataclass(frozen=True)
class Report:
    """One period's report: its name (week-2026-W48, month-2026-11), figures, CSV and PDF."""

    name: str
    figures: f.Figures
    csv: bytes
    pdf: bytes


def write_files(report: Report, directory: Path) -> list[Path]:
    """Write ``<name>.csv`` and ``<name>.pdf`` into ``directory`` (made if missing); their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path, pdf_path = directory / f"{report.name}.csv", directory / f"{report.name}.pdf"
    csv_path.write_bytes(report.csv)
    pdf_path.write_bytes(report.pdf)
    return [csv_path, pdf_path]
