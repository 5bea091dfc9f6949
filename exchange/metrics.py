"""Prometheus metrics of one hub process: the few series an operator alerts on, all defined here.

The rest of the hub calls the small functions below (`fetch_decided`, `adapter_call`, `log_committed`, ...);
nothing else touches prometheus_client. State that is cheaper to read than to track (queue depth, breaker
state, checkpoint age, certificate days left) is read when /metrics is scraped, by `refresh`.

Every label value comes from a bounded set: method names the server registered, gRPC status names, dataset
and department codes of the catalog, reason codes (`[A-Z0-9_]`, else ``OTHER``). A subject id, officer id,
key or free text never becomes a label, so a caller cannot blow up the series count or read one off /metrics.

Under `exchange serve --workers N` a scrape reaches one worker of N; so the parent gives the workers one
directory (PROMETHEUS_MULTIPROC_DIR, prometheus_client's multiprocess mode), every worker writes its series
there, and /metrics serves the sum over all of them. Gauges say how workers combine (`multiprocess_mode`),
and each worker refreshes its own every few seconds (`Hub`'s reload loop), not only when it is scraped.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from cryptography import x509
from grpc import aio
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from exchange.interceptors import AroundInterceptor, Context

if TYPE_CHECKING:
    from exchange.config import Settings
    from exchange.hub import Hub

__all__ = ["CONTENT_TYPE_LATEST", "RpcMetricsInterceptor", "exposition"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_REASON = re.compile(r"^[A-Z][A-Z0-9_]{0,47}$")
UNKNOWN = "unknown"

RPCS = Counter("exchange_rpcs", "RPCs the hub finished, by method and gRPC status.", ["method", "code"])
RPC_SECONDS = Histogram(
    "exchange_rpc_duration_seconds",
    "Time from an RPC's start to its last message.",
    ["method"],
    buckets=_LATENCY_BUCKETS,
)
FETCHES = Counter(
    "exchange_fetches",
    "Record fetches by dataset, decision (allow/deny) and reason code.",
    ["dataset", "decision", "reason"],
)
LOG_ENTRIES = Counter(
    "exchange_access_log_entries", "Access-log entries written, by decision and reason code.", ["decision", "reason"]
)
ADAPTER_SECONDS = Histogram(
    "exchange_adapter_call_duration_seconds",
    "Calls to department adapters, retries included.",
    ["department", "call"],
    buckets=_LATENCY_BUCKETS,
)
ADAPTER_ERRORS = Counter(
    "exchange_adapter_errors", "Failed adapter calls by department and reason code.", ["department", "reason"]
)
BREAKER_OPEN = Gauge(
    "exchange_adapter_circuit_open",
    "1 while a department's circuit breaker is open.",
    ["department"],
    multiprocess_mode="livemax",
)
LOG_BATCH = Histogram(
    "exchange_access_log_batch_entries",
    "Entries per access-log group commit.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096),
)
LOG_COMMIT_SECONDS = Histogram(
    "exchange_access_log_commit_seconds", "Time to commit one access-log batch.", buckets=_LATENCY_BUCKETS
)
LOG_QUEUE = Gauge(
    "exchange_access_log_queue_depth", "Entries waiting for the access-log writer.", multiprocess_mode="livesum"
)
LOG_SIZE = Gauge("exchange_access_log_size", "Entries in the access log (committed).", multiprocess_mode="livemax")
CHECKPOINT_AGE = Gauge(
    "exchange_checkpoint_age_seconds",
    "Seconds since the newest signed checkpoint.",
    multiprocess_mode="livemostrecent",
)
CHECKPOINT_BEHIND = Gauge(
    "exchange_checkpoint_unsigned_entries",
    "Committed entries no signed checkpoint covers yet.",
    multiprocess_mode="livemostrecent",
)
CERT_NOT_AFTER = Gauge(
    "exchange_certificate_not_after_timestamp_seconds",
    "When each of the hub's certificates expires.",
    ["certificate"],
    multiprocess_mode="livemin",
)
CERT_DAYS_LEFT = Gauge(
    "exchange_certificate_days_left",
    "Days until each of the hub's certificates expires.",
    ["certificate"],
    multiprocess_mode="livemin",
)

DEPARTMENT_CERT_NOT_AFTER = Gauge(
    "exchange_department_certificate_not_after_timestamp_seconds",
    "When the client certificate each department last presented expires.",
    ["department"],
    multiprocess_mode="livemostrecent",
)
DEPARTMENT_CERT_DAYS_LEFT = Gauge(
    "exchange_department_certificate_days_left",
    "Days until the client certificate each department last presented expires.",
    ["department"],
    multiprocess_mode="livemostrecent",
)

# The hub's own certificates, by label: the setting naming the file.
CERTIFICATES = {"server": "tls_cert", "hub_client": "tls_client_cert", "ca": "tls_client_ca"}


def reason_label(reason: str) -> str:
    """A reason code as a label: codes are ours and bounded; anything else (an adapter's own text) is OTHER."""
    if not reason:
        return ""
    return reason if _REASON.match(reason) else "OTHER"


# --- calls from the rest of the hub -------------------------------------------------------------------


def fetch_decided(dataset: str | None, decision: str, reason: str) -> None:
    """One fetch finished; `dataset` is None when the request named no dataset in the catalog."""
    FETCHES.labels(dataset or UNKNOWN, "allow" if decision == "allow" else "deny", reason_label(reason)).inc()


def entry_logged(decision: str, reason: str) -> None:
    LOG_ENTRIES.labels("allow" if decision == "allow" else "deny", reason_label(reason)).inc()


def adapter_call(department: str, call: str, seconds: float, error_reason: str | None) -> None:
    """One call to an adapter (all its retries); `error_reason` is None when it answered."""
    ADAPTER_SECONDS.labels(department, call).observe(seconds)
    if error_reason is not None:
        ADAPTER_ERRORS.labels(department, reason_label(error_reason)).inc()


def log_committed(entries: int, seconds: float) -> None:
    LOG_BATCH.observe(entries)
    LOG_COMMIT_SECONDS.observe(seconds)


def department_certificate_seen(department: str, not_after: float) -> None:
    """A department presented a certificate expiring at not_after (unix seconds)."""
    DEPARTMENT_CERT_NOT_AFTER.labels(department).set(not_after)


def read_certificates(settings: Settings) -> None:
    """Record when the hub's certificates expire (at start and whenever the keyring reloads)."""
    if settings.insecure_dev:
        return
    for label, setting in CERTIFICATES.items():
        path = settings.path(getattr(settings, setting))
        try:
            certificate = x509.load_pem_x509_certificate(Path(path).read_bytes())
        except (OSError, ValueError):
            continue  # start-up names a missing or broken file; a metric cannot
        CERT_NOT_AFTER.labels(label).set(certificate.not_valid_after_utc.astimezone(UTC).timestamp())


# --- read at scrape time -------------------------------------------------------------------------------


async def refresh(hub: Hub) -> None:
    """Read the state that is cheaper to look at than to track: queue, breakers, checkpoint, certificates."""
    from exchange.storage import log_store

    LOG_QUEUE.set(hub.access_log.queue_depth)
    for department, breaker in list(hub.adapters.breakers.items()):
        BREAKER_OPEN.labels(department).set(1 if breaker.open else 0)
    size, _ = await hub.access_log.head()
    LOG_SIZE.set(size)
    async with hub.db.read() as conn:
        stored = await log_store.latest_checkpoint(conn)
    now = time.time()
    if stored is not None:
        CHECKPOINT_AGE.set(max(0.0, now - stored.timestamp))
        CHECKPOINT_BEHIND.set(max(0, size - stored.size))
    else:
        # No checkpoint yet: as old as the hub's first entry could be, which an alert treats like any other age.
        CHECKPOINT_AGE.set(now - _STARTED if size else 0.0)
        CHECKPOINT_BEHIND.set(size)
    for department, not_after in list(hub.department_certificates.items()):
        DEPARTMENT_CERT_DAYS_LEFT.labels(department).set((not_after - now) / 86400)
    for label in CERTIFICATES:
        sample = _sample(CERT_NOT_AFTER, label)
        if sample is not None:
            CERT_DAYS_LEFT.labels(label).set((sample - now) / 86400)


def _sample(gauge: Gauge, label: str) -> float | None:
    for metric in gauge.collect():
        for sample in metric.samples:
            if sample.labels.get("certificate") == label:
                return float(sample.value)
    return None


async def exposition(hub: Hub) -> bytes:
    """The /metrics body in the Prometheus text format (every worker's series under --workers)."""
    await refresh(hub)
    if not os.environ.get(MULTIPROCESS_DIR):
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


# --- several workers -------------------------------------------------------------------------------------

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def workers_environment() -> dict[str, str]:
    """For `serve --workers`: a fresh directory the workers share their series through (set before they start)."""
    return {MULTIPROCESS_DIR: tempfile.mkdtemp(prefix="exchange-metrics-")}


def worker_exited(environment: dict[str, str], pid: int) -> None:
    """A dead worker's gauges stop counting (its counters stay: totals never go back)."""
    if environment.get(MULTIPROCESS_DIR):
        multiprocess.mark_process_dead(pid, environment[MULTIPROCESS_DIR])


def workers_stopped(environment: dict[str, str]) -> None:
    if environment.get(MULTIPROCESS_DIR):
        shutil.rmtree(environment[MULTIPROCESS_DIR], ignore_errors=True)


_STARTED = time.time()


# --- RPCs by method and status ---------------------------------------------------------------------------


def _code(context: aio.ServicerContext[Any, Any], error: BaseException | None) -> str:
    """The status the call ended with: what the handler set or aborted with; a stray exception is INTERNAL."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    if isinstance(code, int) and not isinstance(code, bool):
        return next((c.name for c in grpc.StatusCode if c.value[0] == code), "UNKNOWN")
    if error is None:
        return "OK"
    return "CANCELLED" if isinstance(error, asyncio.CancelledError) else "INTERNAL"


@functools.cache
def _rpc_children(method: str, code: str) -> tuple[Any, Any]:
    """The counter and histogram of one (method, status): looked up once, not on every call."""
    return RPCS.labels(method, code), RPC_SECONDS.labels(method)


def _finished(method: str, started: float, context: aio.ServicerContext[Any, Any], error: BaseException | None) -> None:
    count, seconds = _rpc_children(method, _code(context, error))
    count.inc()
    seconds.observe(time.perf_counter() - started)


class RpcMetricsInterceptor(AroundInterceptor):
    """Counts and times every RPC the server has a handler for (so the method label is one the server knows)."""

    @asynccontextmanager
    async def around(self, method: str, context: Context) -> AsyncIterator[None]:
        started, error = time.perf_counter(), None
        try:
            yield
        except BaseException as raised:
            error = raised
            raise
        finally:
            _finished(method, started, context, error)

    def unserved(self, method: str) -> None:
        RPCS.labels(UNKNOWN, "UNIMPLEMENTED").inc()
