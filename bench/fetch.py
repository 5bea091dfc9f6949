"""The fetch benchmark: record fetches through the hub against the echo ceiling and a direct adapter call.

Four processes: the adapter (SQLite-backed sql source), the hub (durable SQLite log), the echo
server and the load generator. Each concurrency level runs echo, direct and hub back to back, so
drift on a shared machine hits all three alike.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from bench.echo import ECHO_METHOD, serve_echo
from bench.load import Identity, LoadGenerator, LoadOutcome, LoadSpec
from bench.processes import ServerProcess
from bench.report import Result, latency_summary, target
from bench.world import (
    CONSUMER,
    DATASET,
    ITEM,
    OWNER,
    DepartmentKeyFiles,
    fetch_case_id,
    make_licence_db,
    serve_adapter,
    serve_hub,
    write_adapter_config,
)
from exchange.auth.identity import HUB_AUDIENCE_DEFAULT, Role
from exchange.auth.tokens import mint_token
from exchange.v1 import common_pb2, exchange_pb2, provider_pb2

HUB_FETCH = "/exchange.v1.ExchangeService/Fetch"
ADAPTER_LOOKUP = "/exchange.v1.ProviderService/Lookup"
KEYS_USED = 256


@dataclass(frozen=True)
class FetchOptions:
    seconds: float = 10.0
    concurrency: tuple[int, ...] = (1, 8, 32)
    rows: int = 10_000
    synchronous: str = "FULL"
    profile: str = ""


def _hub_requests(keys: list[str]) -> tuple[bytes, ...]:
    """The n-th company's licence for its own case (purpose binding includes the subject)."""
    return tuple(
        exchange_pb2.FetchRequest(
            dataset=DATASET, key=key, purpose=common_pb2.Purpose(case_id=fetch_case_id(n), service_item=ITEM)
        ).SerializeToString()
        for n, key in enumerate(keys)
    )


def _adapter_requests(keys: list[str]) -> tuple[bytes, ...]:
    return tuple(
        provider_pb2.LookupRequest(
            dataset=DATASET, key=key, request_id=f"{n:032x}", request_digest=hashlib.sha256(key.encode()).hexdigest()
        ).SerializeToString()
        for n, key in enumerate(keys)
    )


def _probe(address: str, request: bytes, consumer: DepartmentKeyFiles) -> int:
    """One fetch from this process: proves the set-up works and gives the response size for the echo."""
    token = mint_token(
        consumer.token_key(), issuer=CONSUMER, kid=consumer.token_kid, subject="bench-probe",
        roles=(Role.OFFICER,), audience=HUB_AUDIENCE_DEFAULT,
    )
    with grpc.insecure_channel(address) as channel:
        fetch: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(HUB_FETCH)
        response = fetch(
            request, metadata=(("authorization", f"Bearer {token}"),), timeout=30
        )
    return len(response)


def _row(kind: str, concurrency: int, outcome: LoadOutcome) -> dict[str, Any]:
    summary = latency_summary(outcome.latencies_us, outcome.seconds)
    return {"target": kind, "concurrency": concurrency, **summary, "errors": outcome.errors,
            "first_error": outcome.first_error}


def run(options: FetchOptions) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-fetch-") as tmp:
        return _run(options, Path(tmp))


def _run(options: FetchOptions, workdir: Path) -> Result:
    owner, consumer = DepartmentKeyFiles.fresh(OWNER), DepartmentKeyFiles.fresh(CONSUMER)
    keys = make_licence_db(workdir / "samr.db", options.rows)[:KEYS_USED]
    config = write_adapter_config(workdir, workdir / "samr.db", owner)
    hub_requests = _hub_requests(keys)
    runs: list[dict[str, Any]] = []
    with ServerProcess(serve_adapter, {"config": str(config)}) as adapter:
        hub_settings = {"data_dir": str(workdir / "hub"), "adapter": adapter.info["address"],
                        "keys": {OWNER: owner, CONSUMER: consumer}, "synchronous": options.synchronous,
                        "applicants": keys,
                        "profile": options.profile}
        with ServerProcess(serve_hub, hub_settings) as hub:
            response_bytes = _probe(hub.info["address"], hub_requests[0], consumer)
            with ServerProcess(serve_echo, {"response_bytes": response_bytes}) as echo, LoadGenerator() as load:
                identity = Identity(CONSUMER, "bench-officer", consumer.token_pem, consumer.token_kid)
                for c in options.concurrency:
                    for kind, server, method, requests, who in (
                        ("echo", echo, ECHO_METHOD, (b"r" * len(hub_requests[0]),), None),
                        ("adapter direct", adapter, ADAPTER_LOOKUP, _adapter_requests(keys), None),
                        ("hub fetch", hub, HUB_FETCH, hub_requests, identity),
                    ):
                        warmup = min(0.5, options.seconds / 2)
                        spec = LoadSpec(server.info["address"], method, requests, c, options.seconds, warmup, who)
                        # CPU of the serving process (the adapter's too, for hub runs): steadier than wall time.
                        before = server.cpu_seconds(), adapter.cpu_seconds()
                        row = _row(kind, c, load.run(spec))
                        served = max(1, row["requests"] + row["errors"])
                        row["server_cpu_ms_per_request"] = round((server.cpu_seconds() - before[0]) * 1000 / served, 3)
                        if kind == "hub fetch":
                            row["adapter_cpu_ms_per_request"] = round(
                                (adapter.cpu_seconds() - before[1]) * 1000 / served, 3
                            )
                        runs.append(row)
    return _result(options, runs, len(hub_requests[0]), response_bytes)


def _result(options: FetchOptions, runs: list[dict[str, Any]], request_bytes: int, response_bytes: int) -> Result:
    by = {(r["target"], r["concurrency"]): r for r in runs}
    result = Result(
        "fetch", ["target", "conc", "requests", "rps", "p50 ms", "p99 ms", "errors", "x echo", "server CPU ms/req"]
    )
    for r in runs:
        echo = by[("echo", r["concurrency"])]
        ratio = r["rps"] / echo["rps"] if echo["rps"] else 0.0
        r["ratio_to_echo"] = round(ratio, 3)
        result.rows.append([r["target"], r["concurrency"], r["requests"], r["rps"], r["p50_ms"], r["p99_ms"],
                            r["errors"], round(ratio, 3), r["server_cpu_ms_per_request"]])
        if r["first_error"]:
            result.notes.append(f"{r['target']} c={r['concurrency']}: {r['errors']} errors, first: {r['first_error']}")
    for c in options.concurrency:
        hub, direct, echo = by[("hub fetch", c)], by[("adapter direct", c)], by[("echo", c)]
        result.figures[f"c{c}"] = {
            "hub_over_echo_throughput": hub["ratio_to_echo"],
            "hub_p99_over_echo_p99": round(hub["p99_ms"] / echo["p99_ms"], 2) if echo["p99_ms"] else None,
            "added_p50_ms_over_direct": round(hub["p50_ms"] - direct["p50_ms"], 3),
            "added_p99_ms_over_direct": round(hub["p99_ms"] - direct["p99_ms"], 3),
        }
    result.figures.update({"runs": runs, "request_bytes": request_bytes, "response_bytes": response_bytes,
                           "sqlite_synchronous": options.synchronous, "rows_in_adapter_db": options.rows,
                           "keys_cycled": KEYS_USED, "seconds_per_run": options.seconds})
    top = max(options.concurrency)
    figures = result.figures[f"c{top}"]
    result.targets[f"c{top} hub/echo throughput >= 0.4"] = target(figures["hub_over_echo_throughput"], 0.4,
                                                                   at_least=True)
    if figures["hub_p99_over_echo_p99"] is not None:
        result.targets[f"c{top} hub p99 / echo p99 < 4"] = target(figures["hub_p99_over_echo_p99"], 4, at_least=False)
    return result
