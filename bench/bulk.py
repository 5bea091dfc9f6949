"""The bulk benchmark: one large table through the hub's Scan, against a direct Flight do_get of the same file.

The table (enterprise_register: strings, decimals, dates, integers, timestamps) is one Parquet file.
The SAMR adapter serves it with the built-in files source; our Flight server streams the same file;
the hub relays the adapter's Arrow batches. The consumer decodes every batch in its own process, in place
from the received bytes on every path (Flight's client does so in C++; the gRPC paths with `pa.py_buffer`).
CPU seconds of each process are reported beside the wall-clock rates (the least of the repeats).
Every path runs the production transport: mTLS to the hub and to the Flight server, TLS to the adapter.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.drain import DrainOutcome, DrainSpec, drain
from bench.flight import serve_flight
from bench.load import Identity, LoadGenerator
from bench.processes import ServerProcess
from bench.report import Result, target
from bench.tls import BenchPki
from bench.world import (
    BULK_CASE_ID,
    CONSUMER,
    EXAMPLES,
    OWNER,
    DepartmentKeyFiles,
    make_licence_db,
    serve_adapter,
    serve_hub,
    write_adapter_config,
)
from catalog.specs import parse_dataset
from catalog.yaml_io import load_spec_file
from exchange.v1 import common_pb2, exchange_pb2, provider_pb2

TABLE = "enterprise_register"
BATCH_ROWS = 65_536
HUB_SCAN = "/exchange.v1.ExchangeService/Scan"
ADAPTER_SCAN = "/exchange.v1.ProviderService/Scan"


@dataclass(frozen=True)
class BulkOptions:
    rows: int = 2_000_000
    seconds: float = 120.0
    repeat: int = 3
    # Also run the three paths in plain text (dev mode), as extra rows marked "(plain)".
    insecure: bool = False


def _repeat(values: list[Any], n: int, arrow_type: pa.DataType) -> pa.Array:
    return pc.take(pa.array(values, arrow_type), pa.array([i % len(values) for i in range(n)], pa.int32()))


def make_register(path: Path, rows: int) -> int:
    """Write the enterprise register as Parquet (row groups of BATCH_ROWS); returns its in-memory Arrow size."""
    data = load_spec_file(EXAMPLES / "datasets" / f"{TABLE}.yaml")
    schema = parse_dataset(data.get("spec", data)).schema.arrow_schema()
    writer = pq.ParquetWriter(path, schema)
    size = 0
    for start in range(0, rows, BATCH_ROWS):
        n = min(BATCH_ROWS, rows - start)
        ids = range(start, start + n)
        columns = {
            "unified_social_credit_code": pa.array([f"9111010{i:010d}X" for i in ids]),
            "name": pa.array([f"Enterprise {i} Technology Co., Ltd." for i in ids]),
            "company_type": _repeat(
                ["limited liability company", "joint stock company", "sole proprietorship"], n, pa.string()
            ),
            "industry_code": _repeat(["I6510", "F5211", "H6210", "C1810", None], n, pa.string()),
            "region_code": _repeat(["110105", "110108", "310115", "440305"], n, pa.string()),
            # int64 casts only to a decimal wide enough for any int64; narrowing then checks each value.
            "registered_capital": pa.array([i * 37 % 10_000_000 for i in ids], pa.int64())
            .cast(pa.decimal128(21, 2))
            .cast(pa.decimal128(18, 2)),
            "established_on": pa.array([7000 + i % 12000 for i in ids], pa.int32()).cast(pa.date32()),
            "employees": pa.array([i % 5000 for i in ids], pa.int32()),
            "status": _repeat(["01", "01", "01", "02", "04"], n, pa.string()),
            "updated_at": pa.array([1_700_000_000_000_000 + i * 1000 for i in ids], pa.int64()).cast(
                schema.field("updated_at").type
            ),
        }
        batch = pa.record_batch([columns[f.name] for f in schema], schema=schema)
        size += batch.get_total_buffer_size()
        writer.write_batch(batch, row_group_size=BATCH_ROWS)
    writer.close()
    return size


class PeakMemory:
    """Samples a process's resident memory on a thread while a transfer runs."""

    def __init__(self, server: ServerProcess) -> None:
        self.process = server.memory()
        self.peak = self.process.memory_info().rss
        self.baseline = self.peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(options: BulkOptions) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
        return _run(options, Path(tmp))


def _run(options: BulkOptions, workdir: Path) -> Result:
    departments = DepartmentKeyFiles.fresh(OWNER), DepartmentKeyFiles.fresh(CONSUMER)
    parquet = workdir / f"{TABLE}.parquet"
    arrow_bytes = make_register(parquet, options.rows)
    make_licence_db(workdir / "samr.db", 10)
    transfers: list[Transfer] = []
    cpu: dict[str, dict[str, float]] = {}
    with LoadGenerator() as load:
        secure = BenchPki.create(workdir / "hub")
        for pki in (secure, None) if options.insecure else (secure,):
            transfers += _run_transport(options, workdir, parquet, pki, departments, load, cpu)
    return _result(options, arrow_bytes, transfers, cpu)


def _run_transport(
    options: BulkOptions,
    workdir: Path,
    parquet: Path,
    pki: BenchPki | None,
    departments: tuple[DepartmentKeyFiles, DepartmentKeyFiles],
    load: LoadGenerator,
    cpu: dict[str, dict[str, float]],
) -> list[Transfer]:
    """The three paths over one transport (pki: mTLS/TLS; None: plain text, its names marked "(plain)")."""
    owner, consumer = departments
    suffix = "" if pki else " (plain)"
    adapter_tls = pki.adapter_section(OWNER) if pki else None
    config = write_adapter_config(workdir, workdir / "samr.db", owner, {TABLE: parquet}, tls=adapter_tls)
    caller, as_hub = (pki.department(CONSUMER), pki.hub_client()) if pki else (None, None)
    purpose = common_pb2.Purpose(case_id=BULK_CASE_ID)
    identity = Identity(CONSUMER, "bench-officer", consumer.token_pem, consumer.token_kid)
    with ServerProcess(serve_adapter, {"config": str(config)}) as adapter:
        hub_settings = {
            "data_dir": str(workdir / ("hub" if pki else "hub-plain")),
            "adapter": adapter.info["address"],
            "tables": [TABLE],
            "keys": {OWNER: owner, CONSUMER: consumer},
            "insecure": pki is None,
        }
        flight_settings = {"batch_rows": BATCH_ROWS, "tls": pki.server("bench-flight", mutual=True) if pki else None}
        with (
            ServerProcess(serve_hub, hub_settings) as hub,
            ServerProcess(serve_flight, flight_settings) as flight_server,
        ):
            specs = [
                (
                    "flight do_get" + suffix,
                    flight_server,
                    DrainSpec(
                        "flight",
                        flight_server.info["address"],
                        str(parquet).encode(),
                        seconds=options.seconds,
                        tls=caller,
                    ),
                ),
                (
                    "adapter scan direct" + suffix,
                    adapter,
                    DrainSpec(
                        "grpc",
                        adapter.info["address"],
                        provider_pb2.ProviderServiceScanRequest(
                            dataset=TABLE, batch_rows=BATCH_ROWS
                        ).SerializeToString(),
                        ADAPTER_SCAN,
                        options.seconds,
                        tls=as_hub,
                    ),
                ),
                (
                    "hub scan" + suffix,
                    hub,
                    DrainSpec(
                        "grpc",
                        hub.info["address"],
                        exchange_pb2.ScanRequest(
                            dataset=TABLE, purpose=purpose, batch_rows=BATCH_ROWS
                        ).SerializeToString(),
                        HUB_SCAN,
                        options.seconds,
                        identity,
                        tls=caller,
                    ),
                ),
            ]
            # The server processes whose CPU a transfer costs (the hub's path costs the adapter's as well).
            serving = {
                specs[0][0]: {"server": flight_server},
                specs[1][0]: {"server": adapter},
                specs[2][0]: {"server": hub, "adapter": adapter},
            }
            best: dict[str, Transfer] = {}
            cpu.update({name: {} for name, _, _ in specs})
            # Interleaved repeats, best of each: on a shared machine the slowest runs measure the neighbours.
            for _ in range(options.repeat):
                for name, server, spec in specs:
                    before = {role: process.cpu_seconds() for role, process in serving[name].items()}
                    with PeakMemory(server) as memory:
                        outcome = load.call(drain, spec)
                    used = {role: process.cpu_seconds() - before[role] for role, process in serving[name].items()}
                    # CPU seconds barely depend on the neighbours: the least of the repeats, per process.
                    for role, seconds in [*used.items(), ("client", outcome.cpu_seconds)]:
                        cpu[name][role] = min(seconds, cpu[name].get(role, seconds))
                    peak = max(memory.peak, best[name][2]["peak_rss"] if name in best else 0)
                    if name not in best or outcome.seconds < best[name][1].seconds or best[name][1].error:
                        best[name] = (name, outcome, {"baseline_rss": memory.baseline, "peak_rss": peak})
                    else:
                        best[name][2]["peak_rss"] = peak
            return [best[name] for name, _, _ in specs]


Transfer = tuple[str, DrainOutcome, dict[str, int]]


def _result(
    options: BulkOptions, arrow_bytes: int, transfers: list[Transfer], cpu: dict[str, dict[str, float]]
) -> Result:
    result = Result(
        "bulk",
        [
            "path",
            "rows",
            "MB",
            "seconds",
            "MB/s",
            "x flight",
            "server peak RSS MB",
            "server CPU s",
            "adapter CPU s",
            "client CPU s",
            "error",
        ],
    )
    flight_rate = 0.0
    for name, out, memory in transfers:
        rate = out.arrow_bytes / 1e6 / out.seconds if out.seconds and out.rows else 0.0
        flight_rate = rate if name.startswith("flight") else flight_rate
        ratio = rate / flight_rate if flight_rate else 0.0
        result.rows.append(
            [
                name,
                out.rows,
                round(out.arrow_bytes / 1e6, 1),
                round(out.seconds, 2),
                round(rate, 1),
                round(ratio, 3),
                round(memory["peak_rss"] / 2**20, 1),
                round(cpu[name]["server"], 2),
                round(cpu[name].get("adapter", 0.0), 2),
                round(cpu[name]["client"], 2),
                out.error[:40],
            ]
        )
        result.figures[name] = {
            "rows": out.rows,
            "arrow_bytes": out.arrow_bytes,
            "seconds": round(out.seconds, 3),
            "mb_per_s": round(rate, 2),
            "ratio_to_flight": round(ratio, 3),
            "error": out.error,
            "server_rss_baseline_mb": round(memory["baseline_rss"] / 2**20, 1),
            "server_rss_peak_mb": round(memory["peak_rss"] / 2**20, 1),
            "cpu_seconds_least_of_repeats": {role: round(s, 3) for role, s in cpu[name].items()},
        }
    moved = {name: out.rows for name, out, _ in transfers if not out.error}
    if len(set(moved.values())) > 1:
        result.notes.append(f"the paths delivered different row counts: {moved}")
    result.figures["table_rows"] = options.rows
    result.figures["table_arrow_mb"] = round(arrow_bytes / 1e6, 1)
    result.figures["batch_rows"] = BATCH_ROWS
    result.figures["repeats_best_of"] = options.repeat
    hub = result.figures.get("hub scan", {})
    direct = result.figures.get("adapter scan direct", {})
    if hub.get("rows") and direct.get("mb_per_s"):
        # The hub can only relay what the adapter produces: this ratio is the hub's own cost.
        result.figures["hub_over_adapter_direct"] = round(hub["mb_per_s"] / direct["mb_per_s"], 3)
    if hub.get("rows"):
        result.targets["hub/flight throughput >= 0.8"] = target(hub["ratio_to_flight"], 0.8, at_least=True)
        grown = hub["server_rss_peak_mb"] - hub["server_rss_baseline_mb"]
        result.targets["hub memory growth < 25% of the table"] = target(
            grown / max(1.0, arrow_bytes / 2**20), 0.25, at_least=False
        )
    else:
        result.notes.append(f"the hub scan moved no rows: {hub.get('error') or 'no error reported'}")
    return result
