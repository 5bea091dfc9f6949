"""The docs' runnable shell blocks run as written, against a real hub, so a changed flag breaks the build.

A block is runnable when the line before its ```sh fence is `<!-- runnable -->`. Each file's blocks run
in order in a fresh directory (with `examples/` from the checkout), on free ports. The commands are a
small shell subset: `exchange ...` (also `.venv/bin/exchange`), `... &` (started in the background and
awaited until it prints that it is serving), `export NAME=VALUE`, `NAME=$(exchange ...)`, comments and
backslash continuations, `*` in paths (globbed). Anything else in a runnable block fails the test:
the subset is the contract. Foreground commands run in this process; servers run as real processes.
"""

from __future__ import annotations

import glob
import os
import re
import select
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from exchange.cli import cli
from exchange.testing import free_port

ROOT = Path(__file__).resolve().parents[3]
EXCHANGE = [sys.executable, "-m", "exchange.cli"]
MARKER = "<!-- runnable -->"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ADAPTER_ADDRESS = "127.0.0.1:7443"
CAPTURE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=\$\((.*)\)$")


def runnable_blocks(text: str) -> Iterator[str]:
    """The ```sh blocks right after a runnable marker."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == MARKER and i + 1 < len(lines) and lines[i + 1].strip() in ("```sh", "```bash"):
            end = lines.index("```", i + 2)
            yield "\n".join(lines[i + 2 : end])


def commands(block: str) -> Iterator[str]:
    """One logical line per command: continuations joined, comments and blank lines dropped."""
    for line in block.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if line:
            yield line


class Shell:
    """Runs the subset, remembering exported and captured variables and the background processes."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env = {
            **os.environ,
            "PWD": str(cwd),
            "EXCHANGE_GRPC_LISTEN": f"127.0.0.1:{free_port()}",
            "EXCHANGE_HTTP_LISTEN": f"127.0.0.1:{free_port()}",
        }
        self.adapter_address = f"127.0.0.1:{free_port()}"
        self.background: list[subprocess.Popen[str]] = []

    def expand(self, text: str) -> str:
        text = text.replace(ADAPTER_ADDRESS, self.adapter_address)
        return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: self.env.get(m.group(1), ""), text)

    def argv(self, command: str) -> list[str]:
        words = [self.expand(w) for w in shlex.split(command)]
        words = [
            match
            for w in words
            for match in (sorted(glob.glob(w, root_dir=self.cwd)) if "*" in w and "/" in w else [w])
        ]
        assert words and words[0] in ("exchange", ".venv/bin/exchange"), f"not an exchange command: {command}"
        return [*EXCHANGE, *words[1:]]

    def execute(self, line: str) -> None:
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            self.env[name] = self.expand(value)
        elif captured := CAPTURE.match(line):
            self.env[captured.group(1)] = self.run(captured.group(2)).strip()
        elif line.endswith("&"):
            self.start(line.removesuffix("&").strip())
        else:
            self.run(line)

    def run(self, command: str) -> str:
        """A foreground command, in this process (the same click entry point, without a second start-up)."""
        done = CliRunner(env=self.env).invoke(cli, self.argv(command)[len(EXCHANGE) :])
        assert done.exit_code == 0, f"{command}\nexit {done.exit_code}\n{done.output}\n{done.exception!r}"
        return done.stdout

    def start(self, command: str, timeout: float = 30.0) -> None:
        """Start a server and wait until it says it is serving (hub and adapter both print 'serving')."""
        process = subprocess.Popen(
            self.argv(command), cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.background.append(process)
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], deadline - time.monotonic())
            line = process.stdout.readline() if ready else ""
            if "serving" in line:
                return
            if not line and process.poll() is not None:
                break
        process.kill()
        raise AssertionError(f"{command} did not start: {process.stderr.read() if process.stderr else ''}")

    def stop(self) -> None:
        for process in reversed(self.background):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


MARKED = [path for path in DOCS if MARKER in path.read_text(encoding="utf-8")]


def test_the_operators_guide_has_a_runnable_walk_through() -> None:
    assert ROOT / "docs" / "operations.md" in MARKED


@pytest.mark.parametrize("doc", MARKED, ids=[p.name for p in MARKED])
def test_runnable_blocks_run_as_written(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    shell = Shell(tmp_path)
    try:
        for block in runnable_blocks(doc.read_text(encoding="utf-8")):
            for line in commands(block):
                shell.execute(line)
    finally:
        shell.stop()
