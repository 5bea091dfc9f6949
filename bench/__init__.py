"""Performance harness: each benchmark measures one path against a ceiling taken in the same run.

`python -m bench NAME` (or `exchange bench NAME`) runs fetch, bulk, log, profile or all, bounded
in time, prints a table and writes JSON (with the machine and the command) to bench/results/.
"""

from bench.report import Result, latency_summary, machine_info, write_result

__all__ = ["Result", "latency_summary", "machine_info", "write_result"]
