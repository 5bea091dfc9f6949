"""Generate exchange/v1 from protos/ (grpcio-tools + mypy-protobuf); `--check` fails if it is stale."""

from __future__ import annotations

import filecmp
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE_DIR = Path("exchange") / "v1"
BIN = Path(sys.executable).parent
INIT_TEXT = '"""Generated protobuf and gRPC code for the exchange.v1 API. Do not edit: run `make protos`."""\n'


def generate(out_root: Path) -> list[Path]:
    """Write the generated modules under out_root/exchange/v1 and return their paths."""
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"--python_out={out_root}",
        f"--grpc_python_out={out_root}",
        f"--plugin=protoc-gen-mypy={BIN / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={BIN / 'protoc-gen-mypy_grpc'}",
        f"--mypy_out={out_root}",
        f"--mypy_grpc_out={out_root}",
        *protos,
    ]
    subprocess.run(command, check=True, cwd=ROOT)
    (out_root / PACKAGE_DIR / "__init__.py").write_text(INIT_TEXT)
    (out_root / PACKAGE_DIR / "py.typed").write_text("")
    return sorted((out_root / PACKAGE_DIR).iterdir())


def check() -> int:
    """Return 0 when the checked-in code equals a fresh generation, else print what differs."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        stale = [
            p.name
            for p in fresh
            if not (ROOT / PACKAGE_DIR / p.name).exists() or not filecmp.cmp(p, ROOT / PACKAGE_DIR / p.name, False)
        ]
        extra = {p.name for p in (ROOT / PACKAGE_DIR).iterdir() if p.is_file()} - {p.name for p in fresh}
    if stale or extra:
        print(f"generated code is stale: {sorted(stale) + sorted(extra)}; run `make protos`", file=sys.stderr)
        return 1
    print("generated code is current")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())
    generate(ROOT)
