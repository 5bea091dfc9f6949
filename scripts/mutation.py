"""Mutation testing of the security core (`make mutation`): mutmut per module, unit tests only, bounded.

Each module is run on its own with a time limit; mutmut runs every mutant against just the unit tests
that execute the mutated function. The script then prints, per module, the raw score, the score adjusted
for the mutants listed as equivalent in scripts/mutation_equivalents.txt (with the reason for each), and
every other survivor with its diff. docs/development.md ("Mutation testing") records the latest run.

    python scripts/mutation.py                    # every module
    python scripts/mutation.py exchange/policy/fetch.py
    python scripts/mutation.py --report           # re-print the last results without running
    python scripts/mutation.py --all-mutants      # no sampling (the Merkle and encoding modules take longer)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = (
    "exchange/policy/fetch.py",
    "exchange/policy/rules.py",
    "exchange/auth/held_roles.py",
    "exchange/auth/tokens.py",
    "catalog/identifiers.py",
    "exchange/cases/calendar.py",
    "exchange/audit/merkle.py",
    "exchange/audit/entry.py",
)
# The Merkle and encoding tests are property tests that take seconds per mutant; a seeded sample keeps
# those two modules within minutes on a shared two-core machine. The other modules run whole.
SAMPLES = {"exchange/audit/merkle.py": 160, "exchange/audit/entry.py": 160}
EQUIVALENTS = ROOT / "scripts" / "mutation_equivalents.txt"
# mutmut's exit codes, grouped: a mutant is detected when a test failed, timed out or the type check caught it.
DETECTED = {1, 3, 36, 37, -24, 24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}


@dataclass
class ModuleResult:
    path: str
    detected: int = 0
    survivors: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    other: dict[str, int] = field(default_factory=dict)
    unchecked: int = 0  # outside the sample, or left when the time limit struck

    @property
    def total(self) -> int:
        return self.detected + len(self.survivors) + len(self.equivalent) + len(self.other)

    def score(self, adjusted: bool) -> float:
        counted = self.total - (len(self.equivalent) if adjusted else 0)
        return 100.0 * self.detected / counted if counted else 100.0


def load_equivalents() -> dict[str, str]:
    """Mutant name -> why it cannot be told apart from the original (one `name  # reason` a line)."""
    found: dict[str, str] = {}
    for line in EQUIVALENTS.read_text(encoding="utf-8").splitlines():
        name, _, reason = line.partition("#")
        if name.strip():
            found[name.strip()] = reason.strip()
    return found


def prefix(path: str) -> str:
    """mutmut's name prefix for the mutants of one source file."""
    return path.removesuffix(".py").replace("/", ".") + "."


def run_module(path: str, *, children: int, timeout: int, sample: int) -> None:
    """Run mutmut over the mutants of one file (a seeded sample of `sample` when non-zero), niced, in time."""
    command = ["nice", "-n", "10", sys.executable, "-m", "mutmut", "run", "--max-children", str(children)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # mutmut puts mutants/ first itself
    names = [prefix(path) + "*"]
    if sample:
        every = sorted(prefix(path) + name for name in _mutant_names(path))
        names = sorted(random.Random(path).sample(every, min(sample, len(every))))
    print(f"== {path}" + (f" (a sample of {len(names)})" if sample else ""), flush=True)
    try:
        subprocess.run([*command, *names], cwd=ROOT, env=env, timeout=timeout, check=False, stdout=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        print(f"   {path}: stopped after {timeout} s; the unchecked mutants are reported as such")


def _mutant_names(path: str) -> list[str]:
    from mutmut.mutation.file_mutation import mutate_file_contents

    return list(mutate_file_contents(path, (ROOT / path).read_text(encoding="utf-8")).mutant_names)


def result_of(path: str, equivalents: dict[str, str]) -> ModuleResult:
    """Read mutmut's results for one file."""
    meta = ROOT / "mutants" / (path + ".meta")
    result = ModuleResult(path)
    if not meta.exists():
        return result
    codes: dict[str, int | None] = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    for name, code in sorted(codes.items(), key=lambda item: _natural(item[0])):
        if code is None:
            result.unchecked += 1
        elif code in DETECTED:
            result.detected += 1
        elif name in equivalents:
            result.equivalent.append(name)
        elif code in SURVIVED or code in NO_TESTS:
            result.survivors.append(name)
        else:
            result.other[name] = -1 if code is None else code
    return result


def _natural(name: str) -> tuple[str, int]:
    base, _, number = name.rpartition("_")
    return base, int(number) if number.isdigit() else 0


def diff_of(name: str, path: str) -> str:
    """The changed lines of one mutant, rebuilt from the current source (mutants/ holds only the last module)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.mutation.file_mutation import mutate_file_contents

    if path not in _MUTATED:
        _MUTATED[path] = mutate_file_contents(path, (ROOT / path).read_text(encoding="utf-8")).code
    try:
        diff = get_diff_for_mutant(name, source=_MUTATED[path], path=path)
    except FileNotFoundError:
        return "      (the source changed since the run: re-run this module)"
    lines = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    return "\n".join("      " + line for line in lines)


_MUTATED: dict[str, str] = {}


def report(paths: list[str]) -> int:
    """Print the score table and the survivors; exit status 1 when a non-equivalent mutant survived."""
    equivalents = load_equivalents()
    results = [result_of(path, equivalents) for path in paths]
    print()
    columns = ("checked", "of", "killed", "equiv.", "survived", "score", "adjusted")
    print(f"{'module':28} " + " ".join(f"{c:>{w}}" for c, w in zip(columns, (7, 5, 7, 6, 8, 6, 8), strict=True)))
    for r in results:
        print(
            f"{r.path:28} {r.total:7d} {r.total + r.unchecked:5d} {r.detected:7d} {len(r.equivalent):6d} "
            f"{len(r.survivors) + len(r.other):8d} {r.score(False):5.1f}% {r.score(True):7.1f}%"
        )
    for r in results:
        for name in r.survivors:
            print(f"\nSURVIVED {name}\n{diff_of(name, r.path)}")
        for name, code in r.other.items():
            print(f"\nNOT DETECTED (mutmut exit code {code}) {name}")
    return 1 if any(r.survivors or r.other for r in results) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", default=list(MODULES), help="source files (default: all)")
    parser.add_argument("--report", action="store_true", help="print the last results without running")
    parser.add_argument("--all-mutants", action="store_true", help="no sampling: every mutant of every module")
    parser.add_argument("--children", type=int, default=2, help="parallel mutants (default 2)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per module (default 900)")
    args = parser.parse_args()
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"not configured for mutation testing: {', '.join(unknown)} (choose from {', '.join(MODULES)})")
    if not args.report:
        if args.modules == list(MODULES):
            shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # a full run starts from fresh mutants and stats
        for path in args.modules:
            sample = 0 if args.all_mutants else SAMPLES.get(path, 0)
            run_module(path, children=args.children, timeout=args.timeout, sample=sample)
    return report(args.modules)


if __name__ == "__main__":
    sys.exit(main())
