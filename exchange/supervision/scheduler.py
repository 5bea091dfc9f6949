"""The supervision task: one `tick` looks at every open time limit and sends what is due, once.

Reminders go to the department whose limit it is, N working days before it (Settings.reminder_working_days);
a case's warning level (yellow, red) goes to its lead department whenever it changes; an access request
still unanswered after its limit is escalated to the hub's supervisors (the hub department), recorded and
counted against the owner. Each event is claimed in the database before it is published, so it goes out
once across restarts and replicas (exchange.storage.supervision_store).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from exchange.app import case_records, grant_records
from exchange.audit.entry import AccessLogEntry
from exchange.audit.recorder import entry_of
from exchange.clock import from_datetime, to_datetime
from exchange.events import Event, EventKind
from exchange.hub import Hub
from exchange.storage import supervision_store
from exchange.storage.grant_store import AccessRequestQuery
from exchange.storage.supervision_store import SentEvent
from exchange.supervision.desk import SupervisionDesk
from exchange.supervision.levels import (
    WarningLevel,
    case_reminder_due,
    request_escalation_due,
    request_reminder_due,
    warning_level,
)

log = logging.getLogger(__name__)

PAGE = 500
# Who writes the supervision task's own access-log entries (it acts for the hub department).
SUPERVISION_OFFICER = "supervision"
ESCALATE_ACTION = "supervision.escalate"


@dataclass
class Supervisor:
    """Sends the reminders, warnings and escalations that are due at the hub's clock."""

    hub: Hub
    reports: SupervisionDesk  # writes the periodic reports, when they are enabled

    async def tick(self, at_us: int | None = None) -> list[Event]:
        """Look at every pending request and open case at ``at_us`` (default: the hub's clock); the events sent."""
        now = self.hub.clock() if at_us is None else at_us
        candidates = [*await self._request_events(now), *await self._case_events(now)]
        sent: list[Event] = []
        for candidate in candidates:
            async with self.hub.db.begin() as conn:
                if not await supervision_store.claim(conn, candidate):
                    continue  # sent before (by this replica or another)
            event = Event(EventKind(candidate.kind), candidate.department, candidate.reference, now, candidate.data)
            if candidate.kind == EventKind.ESCALATION:
                await self.hub.record(self._escalation_entry(candidate))
            await self.hub.events.publish(event)
            sent.append(event)
        return sent

    async def _request_events(self, now: int) -> list[SentEvent]:
        settings, calendar = self.hub.settings, self.hub.calendar
        found: list[SentEvent] = []
        offset = 0
        while True:
            async with self.hub.db.read() as conn:
                where = AccessRequestQuery(status="pending", offset=offset, limit=PAGE)
                page = await grant_records.list_access_requests(conn, where)
            for request in page:
                data: dict[str, str | int] = {
                    "about": "access_request",
                    "dataset": request.dataset,
                    "owner": request.owner,
                    "consumer": request.consumer,
                    "due_us": request.answer_due_us,
                }
                if request_escalation_due(request, now):
                    found.append(
                        SentEvent(
                            "escalation", request.id, "escalation", settings.hub_department, request.owner, now, data
                        )
                    )
                elif request_reminder_due(request, now, calendar, settings.reminder_working_days):
                    found.append(SentEvent("reminder", request.id, "reminder", request.owner, request.owner, now, data))
            if len(page) < PAGE:
                return found
            offset += PAGE

    async def _case_events(self, now: int) -> list[SentEvent]:
        settings, calendar = self.hub.settings, self.hub.calendar
        moment = to_datetime(now)
        found: list[SentEvent] = []
        offset = 0
        while True:
            async with self.hub.db.read() as conn:
                where = case_records.CaseQuery(offset=offset, limit=PAGE)
                page = await case_records.list_stored_cases(conn, where, open_only=True)
            for case in (s.case for s in page):
                if case.deadline is None:
                    continue
                deadline_us = from_datetime(case.deadline)
                lead = case.lead_department
                data: dict[str, str | int] = {
                    "about": "case",
                    "service_item": case.service_item,
                    "deadline_us": deadline_us,
                }
                level = warning_level(case, moment, calendar, settings.yellow_working_days)
                if level is not WarningLevel.NONE:
                    # Keyed by the deadline too: a deadline moved by a correction pause can warn again.
                    stage = f"{level}:{deadline_us}"
                    found.append(SentEvent("warning", case.id, stage, lead, lead, now, {**data, "level": str(level)}))
                if case_reminder_due(case, moment, calendar, settings.reminder_working_days):
                    found.append(SentEvent("reminder", case.id, f"reminder:{deadline_us}", lead, lead, now, data))
            if len(page) < PAGE:
                return found
            offset += PAGE

    def _escalation_entry(self, sent: SentEvent) -> AccessLogEntry:
        """The access-log entry of an escalation: the hub department's supervision, about the owner's request."""
        return entry_of(
            None,
            ESCALATE_ACTION,
            department=self.hub.settings.hub_department,
            officer_id=SUPERVISION_OFFICER,
            dataset=str(sent.data.get("dataset", "")),
            reason="ANSWER_OVERDUE",
            message=f"access request {sent.reference} to {sent.owner} is past its limit; escalated to the supervisors",
            details={"request": sent.reference, "owner": sent.owner},
        )

    async def run_forever(self, interval_seconds: float) -> None:
        """Tick every ``interval_seconds`` until cancelled (one failure is logged, the next tick tries again).

        With the report enabled, each tick also writes the last week's and month's reports once.
        """
        settings = self.hub.settings
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.tick()
                if settings.supervision_report_enabled:
                    await self.reports.write_due_reports(settings.path(settings.supervision_report_dir))
            except Exception as error:
                log.warning("supervision tick failed: %s", error)
