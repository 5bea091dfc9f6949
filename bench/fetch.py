"""The fetch benchmark: record fetches through the hub against the echo ceiling, a bare pass-through proxy
and a direct adapter call.

Five processes: the adapter (SQLite-backed sql source), the hub (durable SQLite log), the echo
server, the proxy and the load generator. Each concurrency level runs echo, direct, proxy and hub
back to back, so drift on a shared machine hits all alike. The secure path (mTLS and tokens to the
hub, TLS to the adapter, the ceilings on TLS as well) is the default; ``insecure`` adds the same
rows in plain text.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from bench.echo import ECHO_METHOD, serve_echo
from bench.load import Identity, LoadGenerator, LoadOutcome, LoadSpec
from bench.processes import ServerProcess
from bench.proxy import serve_proxy
from bench.report import Result, latency_summary, target
from bench.tls import BenchPki, ChannelTls, sync_channel
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
    serve_hub_workers,
    write_adapter_config,
)
from exchange.auth.identity import HUB_AUDIENCE_DEFAULT, Role
from exchange.auth.tokens import mint_token
from exchange.v1 import common_pb2, exchange_pb2, provider_pb2

HUB_FETCH = "/exchange.v1.ExchangeService/Fetch"
ADAPTER_LOOKUP = "/exchange.v1.ProviderService/Lookup"
KEYS_USED = 256
SECURE, PLAIN = "mTLS", "plain"


@dataclass(frozen=True)
class FetchOptions:
    seconds: float = 10.0
    concurrency: tuple[int, ...] = (1, 8, 32)
    rows: int = 10_000
    synchronous: str = "FULL"
    profile: str = ""
    # Also run every target in plain text (dev mode), as extra rows beside the secure ones.
    insecure: bool = False
    # Hub worker counts to compare (`exchange serve --workers N` on PostgreSQL, secure path); empty: one
    # in-process hub on SQLite against the ceilings.
    workers: tuple[int, ...] = ()


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


def _probe(address: str, request: bytes, consumer: DepartmentKeyFiles, tls: ChannelTls | None) -> int:
    """One fetch from this process: proves the set-up works and gives the response size for the echo."""
    token = mint_token(
        consumer.token_key(),
        issuer=CONSUMER,
        kid=consumer.token_kid,
        subject="bench-probe",
        roles=(Role.OFFICER,),
        audience=HUB_AUDIENCE_DEFAULT,
    )
    with sync_channel(address, tls) as channel:
        fetch: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(HUB_FETCH)
        response = fetch(request, metadata=(("authorization", f"Bearer {token}"),), timeout=30)
    return len(response)


def _row(transport: str, kind: str, concurrency: int, outcome: LoadOutcome) -> dict[str, Any]:
    summary = latency_summary(outcome.latencies_us, outcome.seconds)
    return {
        "transport": transport,
        "target": kind,
        "concurrency": concurrency,
        **summary,
        "errors": outcome.errors,
        "first_error": outcome.first_error,
    }


def run(options: FetchOptions) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-fetch-") as tmp:
        return _run_workers(options, Path(tmp)) if options.workers else _run(options, Path(tmp))


def _run(options: FetchOptions, workdir: Path) -> Result:
    owner, consumer = DepartmentKeyFiles.fresh(OWNER), DepartmentKeyFiles.fresh(CONSUMER)
    keys = make_licence_db(workdir / "samr.db", options.rows)[:KEYS_USED]
    hub_requests = _hub_requests(keys)
    runs: list[dict[str, Any]] = []
    response_bytes = 0
    with LoadGenerator() as load:
        for transport in (SECURE, PLAIN) if options.insecure else (SECURE,):
            pki = BenchPki.create(workdir / "hub") if transport == SECURE else None
            response_bytes = _run_transport(options, workdir, pki, (owner, consumer), hub_requests, keys, load, runs)
    return _result(options, runs, len(hub_requests[0]), response_bytes)


def _run_transport(
    options: FetchOptions,
    workdir: Path,
    pki: BenchPki | None,
    departments: tuple[DepartmentKeyFiles, DepartmentKeyFiles],
    hub_requests: tuple[bytes, ...],
    keys: list[str],
    load: LoadGenerator,
    runs: list[dict[str, Any]],
) -> int:
    """Every target at every concurrency over one transport (pki: the secure path; None: plain text)."""
    owner, consumer = departments
    transport = PLAIN if pki is None else SECURE
    adapter_tls = pki.adapter_section(OWNER) if pki else None
    config = write_adapter_config(workdir, workdir / "samr.db", owner, tls=adapter_tls)
    # Callers of the hub and the ceilings present FIRE's certificate; direct adapter calls the hub's own.
    caller = pki.department(CONSUMER) if pki else None
    as_hub = pki.hub_client() if pki else None
    with ServerProcess(serve_adapter, {"config": str(config)}) as adapter:
        hub_settings = {
            "data_dir": str(workdir / ("hub" if pki else "hub-plain")),
            "adapter": adapter.info["address"],
            "keys": {OWNER: owner, CONSUMER: consumer},
            "synchronous": options.synchronous,
            "applicants": keys,
            "profile": options.profile if pki else "",
            "insecure": pki is None,
        }
        with ServerProcess(serve_hub, hub_settings) as hub:
            response_bytes = _probe(hub.info["address"], hub_requests[0], consumer, caller)
            echo_tls = pki.server("bench-echo", mutual=True) if pki else None
            echo_settings = {"response_bytes": response_bytes, "tls": echo_tls}
            proxy_settings = {
                "upstream": adapter.info["address"],
                "upstream_tls": as_hub,
                "tls": pki.server("bench-proxy", mutual=True) if pki else None,
            }
            with ServerProcess(serve_echo, echo_settings) as echo, ServerProcess(serve_proxy, proxy_settings) as proxy:
                identity = Identity(CONSUMER, "bench-officer", consumer.token_pem, consumer.token_kid)
                adapter_requests = _adapter_requests(keys)
                for c in options.concurrency:
                    for kind, server, method, requests, who, tls in (
                        ("echo", echo, ECHO_METHOD, (b"r" * len(hub_requests[0]),), None, caller),
                        ("adapter direct", adapter, ADAPTER_LOOKUP, adapter_requests, None, as_hub),
                        ("proxy", proxy, ADAPTER_LOOKUP, adapter_requests, None, caller),
                        ("hub fetch", hub, HUB_FETCH, hub_requests, identity, caller),
                    ):
                        warmup = min(0.5, options.seconds / 2)
                        spec = LoadSpec(server.info["address"], method, requests, c, options.seconds, warmup, who, tls)
                        # CPU of the serving process (the adapter's too, for hub runs): steadier than wall time.
                        before = server.cpu_seconds(), adapter.cpu_seconds()
                        row = _row(transport, kind, c, load.run(spec))
                        served = max(1, row["requests"] + row["errors"])
                        row["server_cpu_ms_per_request"] = round((server.cpu_seconds() - before[0]) * 1000 / served, 3)
                        if kind in ("hub fetch", "proxy"):
                            row["adapter_cpu_ms_per_request"] = round(
                                (adapter.cpu_seconds() - before[1]) * 1000 / served, 3
                            )
                        runs.append(row)
    return response_bytes


def _run_workers(options: FetchOptions, workdir: Path) -> Result:
    """Hub fetches on the secure path with 1, 2, ... hub workers on PostgreSQL: throughput and CPU per fetch."""
    owner, consumer = DepartmentKeyFiles.fresh(OWNER), DepartmentKeyFiles.fresh(CONSUMER)
    keys = make_licence_db(workdir / "samr.db", options.rows)[:KEYS_USED]
    hub_requests = _hub_requests(keys)
    runs: list[dict[str, Any]] = []
    with LoadGenerator() as load:
        for workers in options.workers:
            pki = BenchPki.create(workdir / f"hub-{workers}")
            (workdir / f"adapter-{workers}").mkdir()
            config = write_adapter_config(
                workdir / f"adapter-{workers}", workdir / "samr.db", owner, tls=pki.adapter_section(OWNER)
            )
            caller = pki.department(CONSUMER)
            with ServerProcess(serve_adapter, {"config": str(config)}) as adapter:
                hub_settings = {
                    "data_dir": str(workdir / f"hub-{workers}"),
                    "adapter": adapter.info["address"],
                    "keys": {OWNER: owner, CONSUMER: consumer},
                    "applicants": keys,
                    "workers": workers,
                }
                with ServerProcess(serve_hub_workers, hub_settings, start_timeout=120) as hub:
                    _probe(hub.info["address"], hub_requests[0], consumer, caller)
                    identity = Identity(CONSUMER, "bench-officer", consumer.token_pem, consumer.token_kid)
                    for c in options.concurrency:
                        warmup = min(0.5, options.seconds / 2)
                        spec = LoadSpec(
                            hub.info["address"], HUB_FETCH, hub_requests, c, options.seconds, warmup, identity, caller
                        )
                        before = hub.cpu_seconds(), adapter.cpu_seconds(), load.cpu_seconds()
                        row = _row(SECURE, "hub fetch", c, load.run(spec))
                        served = max(1, row["requests"] + row["errors"])
                        row["workers"] = workers
                        row["server_cpu_ms_per_request"] = round((hub.cpu_seconds() - before[0]) * 1000 / served, 3)
                        row["adapter_cpu_ms_per_request"] = round(
                            (adapter.cpu_seconds() - before[1]) * 1000 / served, 3
                        )
                        row["load_cpu_ms_per_request"] = round((load.cpu_seconds() - before[2]) * 1000 / served, 3)
                        runs.append(row)
    result = Result(
        "fetch-workers",
        [
            "workers",
            "conc",
            "requests",
            "rps",
            "p50 ms",
            "p99 ms",
            "errors",
            "hub CPU ms/fetch",
            "adapter CPU ms/fetch",
            "load CPU ms/fetch",
        ],
    )
    for r in runs:
        result.rows.append(
            [
                r["workers"],
                r["concurrency"],
                r["requests"],
                r["rps"],
                r["p50_ms"],
                r["p99_ms"],
                r["errors"],
                r["server_cpu_ms_per_request"],
                r["adapter_cpu_ms_per_request"],
                r["load_cpu_ms_per_request"],
            ]
        )
        if r["first_error"]:
            result.notes.append(
                f"workers={r['workers']} c={r['concurrency']}: {r['errors']} errors, first: {r['first_error']}"
            )
    result.figures.update({"runs": runs, "cpus": os.cpu_count()})
    return result


def _result(options: FetchOptions, runs: list[dict[str, Any]], request_bytes: int, response_bytes: int) -> Result:
    by = {(r["transport"], r["target"], r["concurrency"]): r for r in runs}
    result = Result(
        "fetch",
        [
            "transport",
            "target",
            "conc",
            "requests",
            "rps",
            "p50 ms",
            "p99 ms",
            "errors",
            "x echo",
            "x direct",
            "server CPU ms/req",
        ],
    )
    for r in runs:
        echo = by[(r["transport"], "echo", r["concurrency"])]
        direct = by[(r["transport"], "adapter direct", r["concurrency"])]
        r["ratio_to_echo"] = round(r["rps"] / echo["rps"], 3) if echo["rps"] else 0.0
        r["ratio_to_direct"] = round(r["rps"] / direct["rps"], 3) if direct["rps"] else 0.0
        result.rows.append(
            [
                r["transport"],
                r["target"],
                r["concurrency"],
                r["requests"],
                r["rps"],
                r["p50_ms"],
                r["p99_ms"],
                r["errors"],
                r["ratio_to_echo"],
                r["ratio_to_direct"],
                r["server_cpu_ms_per_request"],
            ]
        )
        if r["first_error"]:
            result.notes.append(
                f"{r['transport']} {r['target']} c={r['concurrency']}: {r['errors']} errors, first: {r['first_error']}"
            )
    for transport in (SECURE, PLAIN) if options.insecure else (SECURE,):
        for c in options.concurrency:
            name = f"c{c}" if transport == SECURE else f"c{c} {PLAIN}"
            result.figures[name] = _figures(by, transport, c)
    if options.insecure:
        for c in options.concurrency:
            secure, plain = by[(SECURE, "hub fetch", c)], by[(PLAIN, "hub fetch", c)]
            result.figures[f"c{c}"]["secure_over_plain_hub_throughput"] = (
                round(secure["rps"] / plain["rps"], 3) if plain["rps"] else None
            )
    result.figures.update(
        {
            "runs": runs,
            "request_bytes": request_bytes,
            "response_bytes": response_bytes,
            "sqlite_synchronous": options.synchronous,
            "rows_in_adapter_db": options.rows,
            "keys_cycled": KEYS_USED,
            "seconds_per_run": options.seconds,
            "transport": "mTLS + tokens to the hub and the ceilings, TLS to the adapter",
        }
    )
    top = max(options.concurrency)
    figures = result.figures[f"c{top}"]
    result.targets[f"c{top} hub/echo throughput >= 0.4"] = target(
        figures["hub_over_echo_throughput"], 0.4, at_least=True
    )
    result.targets[f"c{top} hub/direct throughput >= 0.6"] = target(
        figures["hub_over_direct_throughput"], 0.6, at_least=True
    )
    if figures["hub_cpu_over_proxy_cpu"] is not None:
        result.targets[f"c{top} hub CPU / proxy CPU <= 1.3"] = target(
            figures["hub_cpu_over_proxy_cpu"], 1.3, at_least=False
        )
    if figures["hub_p99_over_echo_p99"] is not None:
        result.targets[f"c{top} hub p99 / echo p99 < 4"] = target(figures["hub_p99_over_echo_p99"], 4, at_least=False)
    return result


def _figures(by: dict[tuple[str, str, int], dict[str, Any]], transport: str, c: int) -> dict[str, Any]:
    """The ratios of one transport at one concurrency: the hub against echo, the direct call and the proxy."""
    hub, direct, echo, proxy = (by[(transport, t, c)] for t in ("hub fetch", "adapter direct", "echo", "proxy"))
    proxy_cpu = proxy["server_cpu_ms_per_request"]
    return {
        "hub_over_echo_throughput": hub["ratio_to_echo"],
        "hub_over_direct_throughput": hub["ratio_to_direct"],
        "hub_over_proxy_throughput": round(hub["rps"] / proxy["rps"], 3) if proxy["rps"] else None,
        "hub_cpu_ms_per_fetch": hub["server_cpu_ms_per_request"],
        "proxy_cpu_ms_per_fetch": proxy_cpu,
        "hub_cpu_over_proxy_cpu": round(hub["server_cpu_ms_per_request"] / proxy_cpu, 2) if proxy_cpu else None,
        "hub_p99_over_echo_p99": round(hub["p99_ms"] / echo["p99_ms"], 2) if echo["p99_ms"] else None,
        "added_p50_ms_over_direct": round(hub["p50_ms"] - direct["p50_ms"], 3),
        "added_p99_ms_over_direct": round(hub["p99_ms"] - direct["p99_ms"], 3),
    }
