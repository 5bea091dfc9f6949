"""What every benchmark shares: the machine description, latency summaries, the table and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import psutil
import pyarrow

RESULTS = Path(__file__).resolve().parent / "results"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """The machine the numbers came from: they mean little without it."""
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "pyarrow": pyarrow.__version__,
        "os": f"{platform.system()} {platform.release()}",
        # Other work on the machine while the benchmark ran: wall-time rates mean little without it.
        "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()],
    }


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def latency_summary(latencies_us: Sequence[float], seconds: float) -> dict[str, float]:
    """Throughput and p50/p99 (milliseconds) of one load run."""
    ordered = sorted(latencies_us)
    return {
        "requests": len(ordered),
        "seconds": round(seconds, 3),
        "rps": round(len(ordered) / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(percentile(ordered, 0.50) / 1000, 3),
        "p99_ms": round(percentile(ordered, 0.99) / 1000, 3),
    }


@dataclass
class Result:
    """One benchmark's outcome: rows for the table, figures and target checks for the JSON."""

    name: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def table(self) -> str:
        cells = [self.columns, *[[_cell(v) for v in row] for row in self.rows]]
        widths = [max(len(str(r[i])) for r in cells) for i in range(len(self.columns))]
        lines = ["  ".join(_align(i, v, w) for i, (v, w) in enumerate(zip(r, widths, strict=True))) for r in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        for name, check in self.targets.items():
            verdict = "met" if check["met"] else "MISSED"
            lines.append(f"target {name}: measured {check['measured']:g} -> {verdict}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def _align(column: int, value: Any, width: int) -> str:
    return str(value).rjust(width) if column else str(value).ljust(width)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def target(measured: float, limit: float, *, at_least: bool) -> dict[str, Any]:
    """A target check for the report: the measured value, the limit and whether it was met."""
    met = measured >= limit if at_least else measured < limit
    return {"measured": round(measured, 4), "limit": limit, "kind": ">=" if at_least else "<", "met": met}


def stamp() -> str:
    """UTC time for file names."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def write_result(result: Result, options: dict[str, Any]) -> Path:
    """Write the JSON file bench/results/NAME-<timestamp>.json and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    when = stamp()
    path = RESULTS / f"{result.name}-{when}.json"
    body = {
        "benchmark": result.name,
        "time": when,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "options": options,
        "machine": machine_info(),
        "columns": result.columns,
        "rows": result.rows,
        "figures": result.figures,
        "targets": result.targets,
        "notes": result.notes,
    }
    path.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
    return path
