"""Notifications a department system can rely on: its webhook, its Subscribe stream, its dead letters.

Events come from the outbox (`exchange.outbox`). `WebhookDeliverer` runs on every replica: it claims a due
delivery (one replica per attempt), POSTs the signed body (`exchange.webhook_signature`) over HTTPS, and on
failure waits `webhook_retry_seconds`, then twice that, and so on up to `webhook_retry_max_seconds`; after
`webhook_max_attempts` the event is a dead letter, listed and re-driven by the department's admin.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import ssl
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives import serialization

from exchange.audit.recorder import entry_of
from exchange.auth.identity import Caller, Role
from exchange.case_flag import CaseFlag
from exchange.clock import now_us
from exchange.errors import ExchangeError, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from exchange.events import EventKind
from exchange.policy import Facts, Thing, enforce
from exchange.storage import notification_store, status_store
from exchange.storage.notification_store import DEAD, DELIVERED, PENDING, Delivery, StoredEvent, Webhook
from exchange.webhook_signature import ED25519, HMAC, SCHEMES, event_body, sign

if TYPE_CHECKING:
    from exchange.hub import Hub

log = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
# A claimed attempt is someone else's to retry only after this (a replica that died mid-POST).
LEASE_MARGIN_SECONDS = 30.0
BATCH = 50
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def retry_delay_seconds(attempts: int, first: float, longest: float) -> float:
    """The wait after the `attempts`-th failed attempt: first, then doubling, never above longest."""
    return float(min(longest, first * 2 ** max(0, attempts - 1)))


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_webhook_url(url: str, *, loopback_http: bool) -> str:
    """An https URL (http only to loopback where the hub allows it), or InvalidArgument naming the problem."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        if loopback_http:
            return url
        raise InvalidArgument(
            f"webhook URL {url[:80]!r} is plain http; this hub sends events over https only "
            "(http to loopback needs webhook_loopback_http, for development)",
            reason="WEBHOOK_URL_NOT_HTTPS",
            violations=[FieldViolation("url", "https:// required")],
        )
    raise InvalidArgument(
        f"webhook URL {url[:80]!r} must be https://HOST[:PORT]/PATH",
        reason="WEBHOOK_URL_NOT_HTTPS" if parts.scheme == "http" else "WEBHOOK_URL_INVALID",
        violations=[FieldViolation("url", "https:// required")],
    )


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """The event kinds asked for, each one the hub publishes."""
    known = {k.value for k in EventKind}
    for i, kind in enumerate(kinds):
        if kind not in known:
            raise InvalidArgument(
                f"unknown event kind {kind[:32]!r}; the kinds are {', '.join(sorted(known))}",
                reason="EVENT_KIND_UNKNOWN",
                violations=[FieldViolation(f"kinds[{i}]", f"one of {', '.join(sorted(known))}")],
            )
    return tuple(dict.fromkeys(kinds))


class NotificationDesk:
    """The department-facing operations: webhooks, dead letters, the event stream and case flags."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def public_key_pem(self) -> str:
        """The hub's Ed25519 public key, which verifies ed25519 webhooks."""
        public = self.hub.signer.private_key.public_key()
        return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    async def _log(self, caller: Caller, action: str, department: str, **details: str) -> None:
        await self.hub.record(entry_of(caller, action, details={"department": department, **details}))

    async def set_webhook(
        self, caller: Caller, department: str, url: str, scheme: str, secret: str, kinds: Sequence[str]
    ) -> tuple[Webhook, str]:
        """Set the department's webhook; the secret made by the hub when none was given (else '')."""
        department = department or caller.department
        enforce(caller, "notifications.webhook.set", Facts(department=department, what=Thing("webhook_of", department)))
        url = check_webhook_url(url, loopback_http=self.hub.settings.webhook_loopback_http)
        wanted = check_kinds(kinds)
        made = ""
        scheme = scheme or HMAC
        if scheme not in SCHEMES:
            raise InvalidArgument(
                f"webhook scheme {scheme[:20]!r}: one of {', '.join(SCHEMES)}",
                reason="WEBHOOK_SCHEME_UNKNOWN",
                violations=[FieldViolation("scheme", f"one of {', '.join(SCHEMES)}")],
            )
        if scheme == ED25519:
            secret = ""
        elif not secret:
            secret = made = secrets.token_hex(MIN_SECRET_BYTES)
        else:
            try:
                size = len(bytes.fromhex(secret))
            except ValueError:
                size = -1
            if size < MIN_SECRET_BYTES:
                raise InvalidArgument(
                    f"a webhook secret is hex of at least {MIN_SECRET_BYTES} random bytes; leave it empty and the "
                    "hub makes one",
                    reason="WEBHOOK_SECRET_WEAK",
                    violations=[FieldViolation("secret", f"hex, at least {MIN_SECRET_BYTES} bytes")],
                )
        hook = Webhook(department, url, scheme, secret, wanted, f"{caller.department}/{caller.officer_id}", now_us())
        async with self.hub.db.begin() as conn:
            await notification_store.put_webhook(conn, hook)
        await self._log(caller, "notifications.webhook.set", department, url=url[:300], scheme=scheme)
        return hook, made

    async def get_webhook(self, caller: Caller, department: str) -> Webhook | None:
        department = department or caller.department
        enforce(
            caller, "notifications.webhook.read", Facts(department=department, what=Thing("webhook_of", department))
        )
        async with self.hub.db.read() as conn:
            return await notification_store.get_webhook(conn, department)

    async def delete_webhook(self, caller: Caller, department: str) -> bool:
        department = department or caller.department
        enforce(
            caller, "notifications.webhook.delete", Facts(department=department, what=Thing("webhook_of", department))
        )
        async with self.hub.db.begin() as conn:
            deleted = await notification_store.delete_webhook(conn, department)
        await self._log(caller, "notifications.webhook.delete", department)
        return deleted

    async def dead_letters(self, caller: Caller, department: str) -> list[tuple[Delivery, StoredEvent]]:
        department = department or caller.department
        enforce(
            caller,
            "notifications.dead_letters.list",
            Facts(department=department, what=Thing("dead_letters_of", department)),
        )
        async with self.hub.db.read() as conn:
            found = []
            for delivery in await notification_store.list_deliveries(conn, department, DEAD):
                stored = await notification_store.get_event(conn, delivery.event_id)
                if stored is not None:
                    found.append((delivery, stored))
        return found

    async def redrive(self, caller: Caller, department: str, event_ids: Sequence[int]) -> list[int]:
        """Put dead letters back in line; the deliverer sends them on its next round."""
        department = department or caller.department
        enforce(
            caller,
            "notifications.dead_letters.redrive",
            Facts(department=department, what=Thing("dead_letters_of", department)),
        )
        async with self.hub.db.begin() as conn:
            if await notification_store.get_webhook(conn, department) is None:
                raise NotFound(
                    f"{department} has no webhook; set one (`exchange notify webhook set`) before re-driving",
                    reason="WEBHOOK_NOT_SET",
                )
            ids = await notification_store.redrive(conn, department, event_ids, now_us())
        await self._log(
            caller, "notifications.dead_letters.redrive", department, events=",".join(map(str, ids))[:500] or "none"
        )
        self.hub.outbox.wake()
        return ids

    async def subscribe(self, caller: Caller, kinds: Sequence[str], after_id: int) -> AsyncIterator[StoredEvent]:
        """The caller's department's events after `after_id`, then each new one, until the caller leaves."""
        wanted = check_kinds(kinds)
        await self._log(caller, "notifications.subscribe", caller.department, after=str(after_id))
        while True:
            async with self.hub.db.read() as conn:
                batch = await notification_store.events_after(conn, caller.department, after_id, wanted)
            for stored in batch:
                after_id = stored.id
                yield stored
            if not batch:
                await self.hub.outbox.wait(self.hub.settings.notification_poll_seconds)

    async def case_flags(self, caller: Caller, case_id: str) -> list[CaseFlag]:
        """Flags on one case, or on every case of the caller's department (auditors and hub admins: all)."""
        sees_all = caller.has(Role.AUDITOR) or caller.has(Role.HUB_ADMIN)
        async with self.hub.db.read() as conn:
            if case_id and not sees_all:
                departments = await status_store.departments_of(conn, case_id)
                if caller.department not in departments:
                    raise PermissionDenied(
                        f"case {case_id[:40]} is not a case of {caller.department}",
                        reason="CASE_NOT_PARTICIPANT",
                    )
            rows = await status_store.list_flags(
                conn, case_id=case_id, department="" if sees_all else caller.department
            )
        return [CaseFlag(*row) for row in rows]


class WebhookDeliverer:
    """Sends due webhook deliveries, one replica per attempt; retries, then dead letters."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        settings = hub.settings
        self.ssl = ssl.create_default_context(
            cafile=str(settings.path(settings.webhook_ca_file)) if settings.webhook_ca_file else None
        )
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.hub.settings.webhook_timeout_seconds)
            self._session = aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(ssl=self.ssl))
        return self._session

    async def run_forever(self) -> None:
        try:
            while True:
                try:
                    await self.deliver_due()
                except Exception as error:
                    log.warning("could not deliver webhooks: %s", error)
                await self.hub.outbox.wait(self.hub.settings.notification_poll_seconds)
        finally:
            if self._session is not None:
                await self._session.close()

    async def deliver_due(self) -> int:
        """Make one attempt at each due delivery this replica can claim; the number made."""
        settings = self.hub.settings
        lease_us = int((settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS) * 1_000_000)
        now = now_us()
        async with self.hub.db.read() as conn:
            due = await notification_store.due_deliveries(conn, now, BATCH)
        made = 0
        for delivery in due:
            async with self.hub.db.begin() as conn:
                if not await notification_store.claim(conn, delivery, now_us(), lease_us):
                    continue
                stored = await notification_store.get_event(conn, delivery.event_id)
                hook = await notification_store.get_webhook(conn, delivery.department)
            made += 1
            await self._attempt(delivery, stored, hook)
        return made

    async def _attempt(self, delivery: Delivery, stored: StoredEvent | None, hook: Webhook | None) -> None:
        settings = self.hub.settings
        attempts = delivery.attempts + 1
        error = ""
        if stored is None or hook is None:
            error = "the event or the webhook is gone"
        else:
            error = await self._post(stored, hook)
        now = now_us()
        if not error:
            state, next_us = DELIVERED, now
        elif attempts >= settings.webhook_max_attempts or stored is None or hook is None:
            state, next_us = DEAD, now
        else:
            wait = retry_delay_seconds(attempts, settings.webhook_retry_seconds, settings.webhook_retry_max_seconds)
            state, next_us = PENDING, now + int(wait * 1_000_000)
        # Logged before the row says dead: whoever sees the dead letter finds its entry.
        if state == DEAD:
            await self.hub.record(
                entry_of(
                    None,
                    "notifications.dead_letter",
                    department=self.hub.settings.hub_department,
                    time_us=now,
                    reason="WEBHOOK_DEAD_LETTER",
                    message=f"event {delivery.event_id} to {delivery.department}: {error}"[:500],
                    outcome="DeadLetter",
                    details={"department": delivery.department, "event": str(delivery.event_id)},
                )
            )
        async with self.hub.db.begin() as conn:
            await notification_store.finish(
                conn,
                delivery.event_id,
                state=state,
                attempts=attempts,
                next_attempt_us=next_us,
                error=error,
                now_us=now,
            )

    async def _post(self, stored: StoredEvent, hook: Webhook) -> str:
        """POST one attempt; '' when the receiver took it (2xx), else what went wrong."""
        e = stored.event
        body = event_body(stored.id, e.kind.value, e.department, e.reference, e.time_us, e.data)
        stamp = int(time.time())
        if hook.scheme == ED25519:
            headers = sign(stored.id, body, timestamp=stamp, key=self.hub.signer.private_key)
        else:
            headers = sign(stored.id, body, timestamp=stamp, secret=bytes.fromhex(hook.secret))
        headers["Content-Type"] = "application/json"
        try:
            async with self.session().post(hook.url, data=body, headers=headers, allow_redirects=False) as response:
                if 200 <= response.status < 300:
                    return ""
                return f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError, OSError, ExchangeError) as error:
            return f"{type(error).__name__}: {error}"[:500]
