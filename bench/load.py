"""The load generator: a process of its own that calls one unary RPC at a fixed concurrency for a fixed time.

Requests and responses travel as raw bytes (no client-side protobuf work), so the echo ceiling,
the direct adapter call and the hub are driven by exactly the same client code.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, TypeVar

from grpc import aio

from bench.tls import ChannelTls, aio_channel

MAX_MESSAGE = 64 * 1024 * 1024
T = TypeVar("T")


@dataclass(frozen=True)
class Identity:
    """Who the load generator acts as when it calls the hub (a department officer's token key)."""

    department: str
    officer: str
    key_pem: bytes
    kid: str


@dataclass(frozen=True)
class LoadSpec:
    address: str
    method: str
    requests: tuple[bytes, ...]
    concurrency: int
    seconds: float
    warmup_seconds: float = 0.5
    identity: Identity | None = None
    # TLS to the target (with a client certificate where it asks for one); None: plain text.
    tls: ChannelTls | None = None


@dataclass
class LoadOutcome:
    latencies_us: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    first_error: str = ""
    response_bytes: int = 0


def _metadata_source(spec: LoadSpec, channel: aio.Channel) -> Callable[[], tuple[tuple[str, str], ...] | None]:
    """Tokens come from the hub's own client class, so they are minted and reused as a real client does."""
    if spec.identity is None:
        return lambda: None
    from exchange.auth.keys import load_private_key
    from exchange.client import HubClient

    ident = spec.identity
    client = HubClient(
        channel,
        department=ident.department,
        officer=ident.officer,
        private_key=load_private_key(ident.key_pem),
        kid=ident.kid,
        token_ttl=600,
    )
    return client.metadata


async def _drive(spec: LoadSpec) -> LoadOutcome:
    options = [("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE)]
    async with aio_channel(spec.address, spec.tls, options) as channel:
        await channel.channel_ready()
        call: aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(spec.method)
        metadata = _metadata_source(spec, channel)
        outcome = LoadOutcome()
        measuring = False
        stop_at = time.perf_counter() + spec.warmup_seconds + spec.seconds

        async def worker(offset: int) -> None:
            n = offset
            while True:
                started = time.perf_counter()
                if started >= stop_at:
                    return
                request = spec.requests[n % len(spec.requests)]
                n += 1
                try:
                    response = await call(request, metadata=metadata(), timeout=30)
                except aio.AioRpcError as error:
                    outcome.errors += 1
                    outcome.first_error = outcome.first_error or f"{error.code().name}: {error.details()}"
                    if outcome.errors > 1000 and not outcome.latencies_us:
                        return
                    continue
                if measuring:
                    outcome.latencies_us.append((time.perf_counter() - started) * 1e6)
                    outcome.response_bytes = len(response)

        workers = [asyncio.create_task(worker(i * 7)) for i in range(spec.concurrency)]
        await asyncio.sleep(spec.warmup_seconds)
        measuring, began = True, time.perf_counter()
        await asyncio.gather(*workers)
        outcome.seconds = time.perf_counter() - began
        return outcome


def run_load(spec: LoadSpec) -> LoadOutcome:
    """Entry point in the load process."""
    return asyncio.run(_drive(spec))


def _own_cpu_seconds(_: Any) -> float:
    """This process's user and system CPU (run in the load generator's process)."""
    times = os.times()
    return times.user + times.system


class LoadGenerator:
    """One spawned process, reused for every run of a benchmark (spawning costs about a second)."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))

    def run(self, spec: LoadSpec) -> LoadOutcome:
        return self._pool.submit(run_load, spec).result()

    def call(self, function: Callable[[Any], T], argument: Any) -> T:
        """Run any picklable function in the load process (the bulk consumer)."""
        return self._pool.submit(function, argument).result()

    def cpu_seconds(self) -> float:
        """User and system CPU the load generator's process has used so far."""
        return self.call(_own_cpu_seconds, None)

    def close(self) -> None:
        self._pool.shutdown()

    def __enter__(self) -> LoadGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
