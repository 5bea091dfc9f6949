"""`exchange demo --once` runs the whole application through real processes and prints what happened."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from exchange.v1 import catalog_pb2, catalog_pb2_grpc


def _demo_once(tmp_path: Path, lang: str) -> subprocess.CompletedProcess[str]:
    """`exchange demo --once` under the shell locale LANG=lang."""
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "EXCHANGE_LANG")}
    return subprocess.run(
        [sys.executable, "-m", "exchange.cli", "demo", "--once", "--port", "0", "--http-port", "0",
         "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        env={**env, "LANG": lang},
    )  # fmt: skip


def test_demo_once_runs_an_application_across_departments(tmp_path: Path):
    result = _demo_once(tmp_path, "C.UTF-8")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for dataset, issuer in (
        ("business_licence", "SAMR"),
        ("identity_record", "PSB"),
        ("property_certificate", "MNR"),
        ("fire_safety_certificate", "FIRE"),
    ):
        assert any(dataset in line and issuer in line and "from issuer" in line for line in out.splitlines())
    assert "state approved" in out
    assert "materials fetched from issuers: 4" in out
    assert "cases.material.attach" in out and "cases.material.read" in out
    assert "— exchange-hub " in out  # the signed checkpoint
    assert (tmp_path / "hub" / "exchange.db").exists()
    assert "INSECURE" not in out + result.stderr  # the demo runs the production shape: mTLS, TLS, HTTPS
    # The demo's data is Chinese whatever the language (the applicant, the case); departments are named
    # in the reader's language: each has an English name too.
    assert "Municipal Administration for Market Regulation" in out and "食品经营许可申请" in out
    assert re.search(r"applicant: \S+有限公司 \(", out)
    assert "Timeline (times in Asia/Shanghai, UTC+8)" in out
    # The timeline's steps are named by the case timeline's own table (exchange.cases.timeline).
    assert "material attached" in out and "review opinion" in out and "approved" in out


def test_under_a_chinese_locale_the_demo_prints_chinese_in_beijing_time(tmp_path: Path):
    result = _demo_once(tmp_path, "zh_CN.UTF-8")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for heading in ("材料：每份只从签发部门调取一次", "并联审批", "节省了什么", "访问日志的检查点（签名树头）"):
        assert heading in out
    assert "办理过程（北京时间，Asia/Shanghai，UTC+8）" in out
    assert "材料入卷" in out and "审查意见" in out and "准予许可" in out
    assert "市市场监督管理局" in out and "Municipal Administration for Market Regulation" not in out
    assert re.search(r"申请人：\S+有限公司（[0-9A-Z]{18}）", out)
    assert "状态：已批准" in out and "从签发部门调取的材料：4 份" in out
    assert "材料  " in out and "签发部门" in out and "从签发部门调取" in out  # table headings and cells
    assert "拒绝" in out and "NO_GRANT" in out  # a refusal: the decision in Chinese, the reason code as is
    # None of the English printout is left.
    for english in ("Materials:", "What was saved", "from issuer", "state approved", "Signed checkpoint"):
        assert english not in out


async def _read_until(stream: asyncio.StreamReader, prefix: str, seen: list[str]) -> str:
    """Read lines (kept in seen) until one starts with prefix; that line."""
    async with asyncio.timeout(240):
        while line := (await stream.readline()).decode():
            seen.append(line)
            if line.startswith(prefix):
                return line
    raise AssertionError(f"the demo ended without a line starting {prefix!r}:\n{''.join(seen)[-3000:]}")


def _grpcurl_arguments(line: str) -> list[str]:
    """The arguments the shell hands grpcurl for the printed line (the token's $(...) run for real)."""
    capture = "grpcurl() { printf '%s\\0' \"$@\"; }; " + line
    done = subprocess.run(["bash", "-c", capture], capture_output=True, timeout=60, check=True)
    return done.stdout.decode().split("\0")[:-1]


async def _list_datasets_as_grpcurl_would(arguments: list[str]) -> list[str]:
    """Do what the grpcurl arguments ask with Python's gRPC: the same files, header, address and method."""
    options = dict(zip(arguments[0:-2:2], arguments[1:-2:2], strict=True))
    address, method = arguments[-2:]
    assert method == "exchange.v1.CatalogService/ListDatasets"
    credentials = grpc.ssl_channel_credentials(
        Path(options["-cacert"]).read_bytes(), Path(options["-key"]).read_bytes(), Path(options["-cert"]).read_bytes()
    )
    name, value = options["-H"].split(": ", 1)
    async with aio.secure_channel(address, credentials) as channel:
        reply = await catalog_pb2_grpc.CatalogServiceStub(channel).ListDatasets(
            catalog_pb2.ListDatasetsRequest(), metadata=((name, value),), timeout=10
        )
    return [d.code for d in reply.datasets]


async def test_the_demo_hub_is_mtls_only_and_its_printed_commands_work(tmp_path: Path) -> None:
    stderr = (tmp_path / "demo.err").open("wb")
    demo = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "exchange.cli", "demo", "--port", "0", "--http-port", "0", "--data-dir", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    seen: list[str] = []
    try:
        assert demo.stdout is not None
        address = re.search(r"gRPC:\s+(\S+)", await _read_until(demo.stdout, "gRPC:", seen)).group(1)  # type: ignore[union-attr]
        exchange = (await _read_until(demo.stdout, "try:", seen)).removeprefix("try:").strip()
        grpcurl = (await demo.stdout.readline()).decode().strip()

        # A plain-text client gets no answer: the hub speaks TLS and wants a client certificate.
        async with aio.insecure_channel(address) as plain:
            with pytest.raises(aio.AioRpcError) as refused:
                await health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE

        # The printed `exchange` command works with the admin profile the demo wrote.
        listed = subprocess.run(shlex.split(exchange), capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert "business_licence" in listed.stdout and "fire_safety_certificate" in listed.stdout
        # So does the grpcurl line: SAMR's certificate and a token minted from SAMR's profile.
        assert grpcurl.startswith("grpcurl ")
        assert "business_licence" in await _list_datasets_as_grpcurl_would(_grpcurl_arguments(grpcurl))
    finally:
        if demo.returncode is None:
            demo.send_signal(signal.SIGINT)
        async with asyncio.timeout(60):
            rest = await demo.stdout.read() if demo.stdout is not None else b""
            await demo.wait()
        stderr.close()
    out = "".join(seen) + rest.decode()
    assert demo.returncode == 0, (tmp_path / "demo.err").read_text()[-3000:]
    assert "INSECURE" not in out + (tmp_path / "demo.err").read_text()
    assert "https://127.0.0.1:" in out and "http://" not in out
