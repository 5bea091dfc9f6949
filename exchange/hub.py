"""The hub's state in one process: settings, database, keys, the access log, adapter clients.

Servicers, the console and the CLI's embedded mode all work through one `Hub`.
`authenticate` is the one door every RPC passes: token, certificate, department
status, the roles the hub holds for the caller and the policy's role for the
operation, with every refusal written to the access log by the one recorder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from grpc import aio

from catalog.model import DepartmentStatus
from exchange import localtime, metrics, tracing
from exchange.adapter_client import AdapterClient, TransportSecurity
from exchange.attempts import entry_written
from exchange.audit.entry import AccessLogEntry
from exchange.audit.high_water import FILE_NAME as HIGH_WATER_FILE
from exchange.audit.key_history import check_current_key
from exchange.audit.log import AccessLog, Receipt
from exchange.audit.note import NoteSigner
from exchange.audit.origin import key_name, provisional_origin, resolve_log_origin
from exchange.audit.recorder import Purpose, entry_of
from exchange.auth.held_roles import refuse_unheld
from exchange.auth.identity import Caller
from exchange.auth.keys import generate_ed25519, load_private_key, write_private_key
from exchange.auth.pki import RevocationList, department_from_auth_context, peer_certificate, peer_chain
from exchange.auth.tokens import TokenVerifier
from exchange.cases.calendar import hub_calendar, uncovered_years
from exchange.clock import now_us
from exchange.config import Settings
from exchange.errors import ExchangeError, FieldViolation, InvalidArgument, PermissionDenied, Unauthenticated
from exchange.events import Publisher
from exchange.keyring import CurrentDatasets, KeyRing
from exchange.outbox import OutboxPublisher
from exchange.policy import decide, error_for
from exchange.storage import Database, quota_store, token_store
from exchange.storage.changes import ChangeFeed

log = logging.getLogger(__name__)

KEYRING_RELOAD_SECONDS = 5.0
# How often expired token ids leave the shared replay memory (they no longer count from their expiry on).
TOKEN_PURGE_SECONDS = 60.0


def load_or_create_signing_key(path: Path) -> Ed25519PrivateKey:
    """The hub's checkpoint key; made on first start (its public half identifies the log)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private_key(path, generate_ed25519())
        # The normal first start (or `exchange init`): worth a line, not a warning.
        log.info("created a new hub signing key at %s", path)
    key = load_private_key(path)
    if not isinstance(key, Ed25519PrivateKey):
        raise ExchangeError(f"{path} must hold an Ed25519 key", reason="SIGNING_KEY_INVALID")
    return key


class DatabaseReplayLedger:
    """The replay memory every replica shares: one row per token id accepted, in the hub's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, issuer: str, jti: str, expires_at: float) -> bool:
        async with self.db.begin() as conn:
            return await token_store.claim_token(conn, issuer, jti, int(expires_at * 1_000_000), now_us())

    async def purge(self) -> int:
        async with self.db.begin() as conn:
            # Quota minutes no decision reads any more go with the expired token ids.
            await quota_store.purge(conn, time.time())
            return await token_store.purge_expired(conn, now_us())


class Hub:
    def __init__(self, settings: Settings, *, db_schema: str | None = None) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(
            settings.effective_database_url,
            synchronous=settings.sqlite_synchronous.upper(),
            schema=db_schema or settings.database_schema or None,
        )
        self.keyring = KeyRing(settings.hub_department)
        self.current_datasets = CurrentDatasets()
        # Other replicas' changes arrive here at once (PostgreSQL LISTEN); the periodic reload is the fallback.
        self.changes = ChangeFeed(self.db, self._drop_caches)
        self.replay_ledger = DatabaseReplayLedger(self.db)
        self.verifier = TokenVerifier(
            settings.hub_name,
            self.keyring.token_key,
            max_lifetime=settings.token_max_lifetime_seconds,
            leeway=settings.token_leeway_seconds,
            ledger=self.replay_ledger,
            reload_keys=lambda: self.keyring.load(self.db),
        )
        signing_key = load_or_create_signing_key(settings.path(settings.signing_key))
        # The origin (and so the signer's key name) is settled in start(), once the database can be read.
        origin = provisional_origin(settings)
        self.signer = NoteSigner(key_name(origin), signing_key)
        self.access_log = AccessLog(
            self.db, origin=origin, signer=self.signer, high_water=settings.data_dir / HIGH_WATER_FILE
        )
        self.revocations = self._revocation_list()
        self.adapters = AdapterClient(
            self._adapter_security(),
            timeout_seconds=settings.adapter_timeout_seconds,
            retries=settings.adapter_retries,
            breaker_failures=settings.breaker_failures,
            breaker_reset_seconds=settings.breaker_reset_seconds,
            max_message_bytes=settings.max_message_bytes,
        )
        localtime.configure(settings.time_zone)
        self.calendar = hub_calendar(
            settings.path(settings.calendar_file) if settings.calendar_file else None,
            shipped=settings.calendar_shipped,
        )
        if not settings.calendar_file:
            # The shipped arrangements are dates; the hub's one time-zone setting says where a day ends.
            self.calendar = replace(self.calendar, tz=localtime.zone())
        # Reminders, warnings, escalations, tickets and licence-status changes for department systems:
        # stored in the outbox, delivered by webhooks and Subscribe streams (exchange.notifications).
        self.outbox = OutboxPublisher(self.db)
        self.events: Publisher = self.outbox
        # The hub's idea of "now" for time limits (access requests, supervision); tests set a controlled clock.
        self.clock: Callable[[], int] = now_us
        self._tasks: list[asyncio.Task[None]] = []
        # When the client certificate each department last presented expires (unix seconds), read at every call:
        # the days-left metric and the console's warning come from here.
        self.department_certificates: dict[str, float] = {}

    def run_in_background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run `work` until the hub closes."""
        self._tasks.append(asyncio.create_task(work, name=name))

    def _adapter_security(self) -> TransportSecurity:
        s = self.settings
        if s.insecure_dev:
            return TransportSecurity()
        # The hub client profile, never the server certificate: adapters admit clientAuth and the hub's name only.
        return TransportSecurity(
            root_ca=s.read_file("tls_client_ca"),
            client_cert=s.read_file("tls_client_cert"),
            client_key=s.read_file("tls_client_key"),
            revocations=self.revocations,
        )

    def _revocation_list(self) -> RevocationList | None:
        """The CA's CRL, checked on every authenticated call and at every adapter connection (None in dev mode)."""
        s = self.settings
        if s.insecure_dev:
            return None
        ca = s.read_file("tls_client_ca")
        try:
            return RevocationList(s.path(s.crl_file), ca)
        except InvalidArgument as error:
            raise InvalidArgument(
                f"crl_file: {error.message}",
                reason="SETTINGS",
                violations=[FieldViolation("crl_file", error.message)],
            ) from None

    async def start(self) -> None:
        today = datetime.now(self.calendar.tz).date()
        missing = uncovered_years(self.calendar, today)
        if missing:
            # Deadlines still count (Mon-Fri), but statutory holidays of those years are not known: a warning once
            # this year is unknown, a note while it is only next year (its notice usually comes in November).
            log.log(
                logging.WARNING if today.year in missing else logging.INFO,
                "the working-day calendar has no holiday data for %s; load the State Council's notice "
                "(docs/operations.md, 'Working-day calendar')",
                ", ".join(map(str, missing)),
            )
        await self.db.migrate()
        metrics.read_certificates(self.settings)
        await self.keyring.load(self.db)
        await self.access_log.start()
        await self._settle_log_origin()
        try:
            await self.access_log.refuse_rollback()
            check_current_key(self.settings.path(self.settings.signing_key_history), self.signer)
        except ExchangeError:
            # Loud and early: nothing is appended to, or signed over, a log that lost what auditors hold.
            await self.access_log.close()
            await self.db.close()
            raise
        self._tasks.append(asyncio.create_task(self._reload_keyring_forever(), name="keyring-reload"))
        self._tasks.append(asyncio.create_task(self.changes.listen_forever(), name="change-feed"))
        self._tasks.append(asyncio.create_task(self._sign_checkpoints_forever(), name="checkpoints"))
        self._tasks.append(asyncio.create_task(self._purge_token_ids_forever(), name="token-purge"))

    async def _settle_log_origin(self) -> None:
        """Name the log as `resolve_log_origin` says, before anything is appended or signed."""
        origin = await resolve_log_origin(self.settings, self.db)
        self.settings = replace(self.settings, log_origin=origin)
        self.signer = NoteSigner(key_name(origin), self.signer.private_key)
        self.access_log.origin, self.access_log.signer = origin, self.signer

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.access_log.sign_checkpoint()
        await self.access_log.close()
        await self.adapters.close()
        await self.db.close()

    async def registry_changed(self, department: str | None = None) -> None:
        """Reload keys and departments after a change here, and tell the other replicas at once."""
        await self._drop_caches(department or "")
        await self.changes.publish(department or "")

    async def _drop_caches(self, department: str) -> None:
        """Drop cached datasets, reload departments, keys and roles; forget the department's verified tokens."""
        self.current_datasets.clear()
        await self.keyring.load(self.db)
        if department:
            self.verifier.forget_department(department)

    async def _reload_keyring_forever(self) -> None:
        while True:
            await asyncio.sleep(KEYRING_RELOAD_SECONDS)
            # Other replicas' catalog changes are seen from here on.
            self.current_datasets.clear()
            try:
                await self.keyring.load(self.db)
            except Exception as error:
                log.warning("could not reload departments and keys: %s", error)
            metrics.read_certificates(self.settings)  # a renewed certificate file shows in the expiry gauge
            try:
                await metrics.refresh(self)  # under --workers, a scrape reads every worker's gauges
            except Exception as error:
                log.warning("could not refresh the metrics: %s", error)

    async def _sign_checkpoints_forever(self) -> None:
        last_size = -1
        while True:
            await asyncio.sleep(self.settings.checkpoint_interval_seconds)
            try:
                size, _ = await self.access_log.head()
                if size != last_size:
                    await self.access_log.sign_checkpoint()
                    last_size = size
            except Exception as error:
                log.warning("could not sign a checkpoint: %s", error)

    async def _purge_token_ids_forever(self) -> None:
        while True:
            await asyncio.sleep(TOKEN_PURGE_SECONDS)
            try:
                await self.replay_ledger.purge()
            except Exception as error:
                log.warning("could not purge expired token ids: %s", error)

    # --- the door every RPC passes -----------------------------------------------------------------

    async def authenticate(self, operation: str, context: aio.ServicerContext[Any, Any]) -> Caller:
        """The caller of an RPC that asks for `operation` (the edge's map names it), or the logged refusal."""
        metadata: Mapping[str, Any] = dict(context.invocation_metadata() or ())
        cert_department = None
        auth_context: dict[str, list[bytes]] = {}
        if not self.settings.insecure_dev:
            auth_context = {name: list(values) for name, values in context.auth_context().items()}
            cert_department = department_from_auth_context(auth_context)
        header = str(metadata.get("authorization", ""))
        token = header[7:] if header.lower().startswith("bearer ") else header
        caller: Caller | None = None
        try:
            if self.revocations is not None:
                self.revocations.check_chain(peer_chain(auth_context), f"department {cert_department}")
            if not token:
                raise Unauthenticated(
                    "no token: send 'authorization: Bearer <JWT>' signed with your department's key",
                    reason="TOKEN_MISSING",
                )
            caller = await self.verifier.admit(token, peer=context.peer(), cert_department=cert_department)
            self._note_certificate(caller.department, cert_department, auth_context)
            self._check_caller(operation, caller)
        except ExchangeError as error:
            # Without mTLS, a token whose signature verified still names its department (and officer).
            await self.record(
                entry_of(
                    caller,
                    operation,
                    error=error,
                    department=cert_department or error.metadata.get("department", ""),
                    officer_id=error.metadata.get("officer_id", ""),
                )
            )
            raise
        return caller

    def _note_certificate(
        self, department: str, cert_department: str | None, auth_context: Mapping[str, list[bytes]]
    ) -> None:
        """Remember when the certificate a department presented expires (admitted callers only: labels stay bounded)."""
        certificate = peer_certificate(auth_context) if cert_department == department else None
        if certificate is None:
            return
        not_after = certificate.not_valid_after_utc.timestamp()
        if self.department_certificates.get(department) != not_after:
            self.department_certificates[department] = not_after
            metrics.department_certificate_seen(department, not_after)

    def expiring_certificates(self, days: float, *, now: float | None = None) -> list[tuple[str, float]]:
        """(department, days left) for each department whose certificate expires within ``days``, soonest first."""
        moment = time.time() if now is None else now
        left = [(code, (not_after - moment) / 86400) for code, not_after in self.department_certificates.items()]
        return sorted((item for item in left if item[1] < days), key=lambda item: item[1])

    def _check_caller(self, operation: str, caller: Caller) -> None:
        """A verified token's department is active, holds every role the token asks for, and one fits `operation`."""
        department = self.keyring.department(caller.department)
        if department is None or department.status != DepartmentStatus.ACTIVE:
            state = department.status.value if department else "unknown"
            raise PermissionDenied(
                f"department {caller.department} is {state}; its officers cannot use the hub",
                reason="DEPARTMENT_INACTIVE",
            )
        # Before the role table: a role the hub never gave is refused as such, whatever the method.
        refuse_unheld(
            caller.department,
            caller.officer_id,
            caller.roles,
            self.keyring.held_roles(caller.department, caller.officer_id),
        )
        decision = decide(caller, operation)
        if not decision.allowed:
            raise error_for(decision)

    async def record_refusal(
        self,
        operation: str,
        caller: Caller,
        error: ExchangeError,
        *,
        subject_id: str = "",
        purpose: Purpose = Purpose(),
    ) -> Receipt:
        """Log the refusal of an authenticated caller's request for `operation` before its servicer ran."""
        return await self.record(entry_of(caller, operation, error=error, subject=subject_id, purpose=purpose))

    async def record(self, entry: AccessLogEntry) -> Receipt:
        """Append to the access log (fail closed: raises Unavailable if it cannot be written)."""
        traced = tracing.with_trace_id(entry.details)
        if traced is not None:
            entry = replace(entry, details=traced)
        receipt = await self.access_log.append(entry)
        entry_written()
        metrics.entry_logged(entry.decision, entry.reason)
        return receipt
