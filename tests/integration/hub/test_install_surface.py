"""What a production install (`pip install .`, no extras) needs is what it declares, and it starts.

The container image crashed at start because the CLI imported the benchmarks, which need psutil from the
dev extra. These tests run the entry points with the dev-only packages made unimportable, and check that
every third-party module the hub, the client and the adapters load belongs to a declared runtime
dependency (or to one of theirs).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DEV_ONLY = ("psutil", "pyinstrument", "pytest", "hypothesis", "playwright", "grpc_tools", "mypy", "atheris")
# Installs a finder that refuses the dev-only packages, then runs the `exchange` command.
WITHOUT_DEV = f"""
import sys
class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {DEV_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not in a production install)", name=name)
sys.meta_path.insert(0, _Refuse())
from exchange.cli import cli
cli(prog_name="exchange")
"""


def _exchange(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_DEV, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


def test_help_and_serve_check_run_without_the_dev_extra(tmp_path: Path):
    shown = _exchange("--help", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "serve" in shown.stdout and "bench" in shown.stdout
    checked = _exchange("serve", "--check", "--insecure-dev", "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "database:" in checked.stdout and not (tmp_path / "data" / "exchange.db").exists()


def test_bench_without_the_dev_extra_says_what_to_install(tmp_path: Path):
    refused = _exchange("bench", "fetch", "--help", cwd=tmp_path)
    assert refused.returncode != 0
    assert "development extra" in refused.stderr and "Traceback" not in refused.stderr


def test_serve_check_names_every_missing_certificate(tmp_path: Path):
    checked = _exchange("serve", "--check", "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert checked.returncode == 2
    for setting in ("tls_cert", "tls_key", "tls_client_ca", "tls_client_cert", "tls_client_key"):
        assert f"ERROR {setting}: cannot read" in checked.stderr


# Imported only if present (try/except ImportError in the importing package), so not needed in production.
OPTIONAL_IMPORTS = {
    "grpc_tools": "grpc._runtime_protos tries it",
    "pygments": "mako (through alembic) uses it for tracebacks when installed",
    "_distutils_hack": "setuptools' own .pth file",
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(spec: str) -> tuple[str, set[str]]:
    """A requirement's distribution name and the extras it asks for."""
    match = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(?:\[([^\]]*)\])?", spec)
    assert match, spec
    return _normal(match.group(1)), {e.strip() for e in (match.group(2) or "").split(",") if e.strip()}


def _runtime_closure() -> set[str]:
    """Normalised names of the declared runtime dependencies and everything they require (with extras)."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    todo = [_requirement(spec) for spec in declared]
    seen: set[str] = set()
    while todo:
        name, extras = todo.pop()
        seen.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for requirement in requires:
            wanted = re.search(r'extra\s*==\s*"([^"]+)"', requirement)
            if wanted and wanted.group(1) not in extras:
                continue
            child = _requirement(requirement)
            if child[0] not in seen:
                todo.append(child)
    return seen


def test_every_third_party_module_the_runtime_loads_is_a_declared_dependency():
    probe = (
        "import sys, json; import exchange.cli, exchange.server, exchange.client, adapters.server, "
        "adapters.sources.rest, adapters.sources.sql, adapters.sources.files; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    )
    owners = packages_distributions()
    closure = _runtime_closure()
    ours = {"exchange", "catalog", "adapters", "bench", "fuzz"}
    undeclared = {
        module: owners[module]
        for module in loaded
        if module in owners
        and module not in ours | set(OPTIONAL_IMPORTS)
        and not any(_normal(d) in closure for d in owners[module])
    }
    assert undeclared == {}, "loaded at run time but not a declared runtime dependency"
