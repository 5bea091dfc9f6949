"""Licence status changes reach the open cases holding them: pushed by adapters, or found by the hub's poll.

The hub keeps one `Provider.WatchStatus` stream open per adapter (reconnecting after a failure), and every
`status_poll_seconds` asks `Status` of each licence an open case holds, the fallback for a stream that was
down. A change flags every open case holding the licence at once, tells each of its departments
(`EventKind.LICENCE_STATUS`, naming the case and the dataset, never the key) and is written to the access log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from exchange.app import case_records
from exchange.audit.recorder import Purpose, entry_of
from exchange.clock import now_us
from exchange.errors import ExchangeError
from exchange.events import Event, EventKind
from exchange.storage import status_store
from exchange.v1 import provider_pb2

if TYPE_CHECKING:
    from exchange.hub import Hub
    from exchange.registry import Registry

log = logging.getLogger(__name__)

VALID = "01"
PUSH = "push"
POLL = "poll"
RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 30.0
# How often the set of adapters to watch is compared with the registered departments.
WATCH_REFRESH_SECONDS = 5.0


class LicenceStatusDesk:
    """Records status changes, flags the cases holding the licence and tells their departments."""

    def __init__(self, hub: Hub, registry: Registry) -> None:
        self.hub = hub
        self.registry = registry
        self._watching: dict[str, tuple[str, asyncio.Task[None]]] = {}
        # Departments whose adapter's stream is open now.
        self.connected: set[str] = set()

    async def status_changed(self, department: str, dataset: str, key: str, status_code: str, source: str) -> list[str]:
        """Take one observed status; the ids of the open cases flagged (none when nothing changed)."""
        try:
            ds = await self.registry.current_dataset(dataset)
        except ExchangeError:
            log.warning("status change for unknown dataset %s from %s ignored", dataset[:64], department)
            return []
        if ds.owner != department:
            # An adapter speaks for its own department's datasets only.
            log.warning("status change for %s from %s (owned by %s) ignored", ds.code, department, ds.owner)
            return []
        now = now_us()
        async with self.hub.db.begin() as conn:
            before = await status_store.last_status(conn, ds.code, key)
            await status_store.set_status(conn, ds.code, key, status_code, now)
            if before == status_code or (before is None and source == POLL and status_code == VALID):
                return []
            flag = case_records.CaseFlag(status_code, before or "", source, now)
            held = await case_records.flag_open_cases_holding(conn, ds.code, key, flag)
        for licence in held:
            await self.hub.record(
                entry_of(
                    None,
                    "cases.licence_status",
                    department=department,
                    subject=licence.key,
                    purpose=Purpose(case_id=licence.case_id),
                    time_us=now,
                    dataset=ds.code,
                    reason="LICENCE_STATUS_CHANGED",
                    message=f"status {before or 'unknown'} -> {status_code} ({source}); the case is flagged",
                    details={"status": status_code, "previous": before or "", "source": source},
                )
            )
            for told in licence.departments:
                data = {"dataset": ds.code, "status": status_code, "previous": before or "", "source": source}
                await self.hub.events.publish(Event(EventKind.LICENCE_STATUS, told, licence.case_id, now, data))
        return [licence.case_id for licence in held]

    # --- pushed: one WatchStatus stream per adapter ---------------------------------------------------

    async def watch_forever(self) -> None:
        """Keep a stream open to every registered adapter; follow endpoint changes."""
        try:
            while True:
                self._follow_endpoints()
                await asyncio.sleep(WATCH_REFRESH_SECONDS)
        finally:
            for _, task in self._watching.values():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _follow_endpoints(self) -> None:
        wanted = {
            code: dept.adapter_endpoint for code, dept in self.hub.keyring.departments.items() if dept.adapter_endpoint
        }
        for code, (endpoint, task) in list(self._watching.items()):
            if wanted.get(code) != endpoint:
                task.cancel()
                del self._watching[code]
        for code, endpoint in wanted.items():
            if code not in self._watching:
                task = asyncio.create_task(self._watch(code, endpoint), name=f"status-watch-{code}")
                self._watching[code] = (endpoint, task)

    async def _watch(self, department: str, endpoint: str) -> None:
        """Read one adapter's stream; after it fails, reconnect after a wait that doubles up to a limit."""
        wait = RECONNECT_FIRST_SECONDS
        while True:
            try:
                async for change in self.hub.adapters.watch_status(department, endpoint):
                    wait = RECONNECT_FIRST_SECONDS
                    if not change.dataset:
                        self.connected.add(department)  # the adapter's first, empty answer
                        continue
                    await self.status_changed(department, change.dataset, change.key, change.status_code, PUSH)
            except ExchangeError as error:
                log.info("status watch of %s at %s: %s", department, endpoint, error.message)
            except Exception as error:
                log.warning("status watch of %s at %s failed: %s", department, endpoint, error)
            finally:
                self.connected.discard(department)
            await asyncio.sleep(wait)
            wait = min(wait * 2, RECONNECT_MAX_SECONDS)

    # --- polled: the fallback -------------------------------------------------------------------------

    async def poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.hub.settings.status_poll_seconds)
            try:
                await self.poll_once()
            except Exception as error:
                log.warning("could not poll licence statuses: %s", error)

    async def poll_once(self) -> list[str]:
        """Ask `Status` of each licence an open case holds; the cases flagged."""
        async with self.hub.db.read() as conn:
            held = await status_store.held_licences(conn, case_records.OPEN_STATES)
        flagged: list[str] = []
        for dataset, key in dict.fromkeys((h.dataset, h.key) for h in held):
            try:
                ds = await self.registry.current_dataset(dataset)
            except ExchangeError:
                continue
            owner = self.hub.keyring.department(ds.owner)
            if ds.status_field is None or owner is None or not owner.adapter_endpoint:
                continue
            try:
                answer = await self.hub.adapters.status(
                    ds.owner, owner.adapter_endpoint, provider_pb2.StatusRequest(dataset=ds.code, key=key)
                )
            except ExchangeError as error:
                log.info("status of %s in %s not checked: %s", key[:8], ds.code, error.message)
                continue
            code = answer.status_code if answer.found else ""
            flagged += await self.status_changed(ds.owner, ds.code, key, code, POLL)
        return flagged
