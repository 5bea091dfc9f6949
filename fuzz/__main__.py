"""`python -m fuzz [--seconds N] [TARGET ...]`: fuzz each target for N seconds in its own process.

Seeds are read from fuzz/seeds/TARGET/ (committed); inputs the fuzzer finds interesting go to a scratch
corpus under the system's temp directory; a crash is written to fuzz/crashes/TARGET/ and makes the run
fail. Commit the crash file with the fix: the corpus test replays it in `make test` from then on.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fuzz.targets import TARGETS

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help=f"targets to run (default: all of {', '.join(TARGETS)})")
    parser.add_argument("--seconds", type=int, default=30, help="time per target (default 30)")
    args = parser.parse_args()
    names = args.targets or list(TARGETS)
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    failed: list[str] = []
    for name in names:
        seeds = HERE / "seeds" / name
        crashes = HERE / "crashes" / name
        crashes.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as scratch:
            started = time.monotonic()
            argv = [
                sys.executable,
                "-m",
                "fuzz.one",
                name,
                scratch,
                str(seeds),
                f"-max_total_time={args.seconds}",
                f"-artifact_prefix={crashes}/",
                "-max_len=4096",
                "-print_final_stats=1",
            ]
            result = subprocess.run(argv, capture_output=True, text=True, check=False)
            stats = [line for line in result.stderr.splitlines() if line.startswith("stat::number_of_executed_units")]
            runs = stats[-1].split(":")[-1].strip() if stats else "?"
            verdict = "ok" if result.returncode == 0 else "CRASH"
            print(f"{name:16} {verdict:5} {runs:>9} runs in {time.monotonic() - started:5.1f} s")
            if result.returncode != 0:
                failed.append(name)
                print(result.stderr[-3000:], file=sys.stderr)
    if failed:
        print(f"crashes in: {', '.join(failed)}; inputs are in fuzz/crashes/<target>/", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
