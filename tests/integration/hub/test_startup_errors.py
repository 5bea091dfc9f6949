"""Start-up refuses what an operator got wrong in one clear message: busy ports, every wrong setting at once."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from exchange.config import load_settings
from exchange.errors import FailedPrecondition, InvalidArgument
from exchange.server import start_hub
from exchange.testing import HubFixture

EXCHANGE = str(Path(sys.executable).with_name("exchange"))


async def _second_hub(tmp_path: Path, **listen: str):
    settings = load_settings(
        None,
        environ={},
        data_dir=str(tmp_path / "second"),
        insecure_dev=True,
        grpc_listen=listen.get("grpc_listen", "127.0.0.1:0"),
        http_listen=listen.get("http_listen", "127.0.0.1:0"),
    )
    return await start_hub(settings)


async def test_a_second_hub_on_the_grpc_port_of_the_first_is_refused_naming_the_port(hub: HubFixture, tmp_path):
    with pytest.raises(FailedPrecondition) as refused:
        await _second_hub(tmp_path, grpc_listen=hub.address)
    assert refused.value.reason == "PORT_IN_USE"
    assert "grpc_listen" in refused.value.message and str(hub.running.grpc_port) in refused.value.message
    assert not (tmp_path / "second" / "exchange.db").exists(), "nothing may start before the ports are checked"


async def test_a_second_hub_on_the_console_port_of_the_first_is_refused_naming_the_port(hub: HubFixture, tmp_path):
    with pytest.raises(FailedPrecondition) as refused:
        await _second_hub(tmp_path, http_listen=f"127.0.0.1:{hub.running.http_port}")
    assert refused.value.reason == "PORT_IN_USE"
    assert "http_listen" in refused.value.message and str(hub.running.http_port) in refused.value.message


async def test_a_port_held_by_a_foreign_process_is_refused_even_with_reuseport(tmp_path):
    foreign = socket.socket()
    foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    foreign.bind(("127.0.0.1", 0))
    foreign.listen()
    try:
        with pytest.raises(FailedPrecondition) as refused:
            await _second_hub(tmp_path, grpc_listen=f"127.0.0.1:{foreign.getsockname()[1]}")
        assert refused.value.reason == "PORT_IN_USE"
    finally:
        foreign.close()


async def _cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        EXCHANGE, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env={**os.environ, **env}
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode()


async def test_serve_on_a_busy_port_says_so_in_one_sentence_without_a_traceback(hub: HubFixture, tmp_path):
    code, out = await _cli(
        "serve", "--data-dir", str(tmp_path / "d"), "--insecure-dev", env={"EXCHANGE_GRPC_LISTEN": hub.address}
    )
    assert code == 2
    assert "Traceback" not in out and "Errno" not in out
    assert f"port {hub.running.grpc_port}" in out and "grpc_listen" in out


async def test_init_names_every_wrong_setting_at_once(tmp_path):
    code, out = await _cli(
        "init",
        "--data-dir",
        str(tmp_path / "d"),
        env={"EXCHANGE_GRPC_LISTEN": "50051", "EXCHANGE_ADAPTER_RETRIES": "many", "EXCHANGE_LOG_LEVEL": "LOUD"},
    )
    assert code == 2 and "Traceback" not in out
    for setting in ("grpc_listen", "adapter_retries", "log_level"):
        assert f"  {setting}: " in out, out


def test_settings_name_conversion_and_validation_problems_together():
    with pytest.raises(InvalidArgument) as refused:
        load_settings(None, environ={}, grpc_listen="50051", adapter_retries="many", checkpoint_interval_seconds=0)
    named = {v.field for v in refused.value.violations}
    assert named == {"grpc_listen", "adapter_retries", "checkpoint_interval_seconds"}


async def test_under_a_chinese_locale_wrong_settings_are_named_in_chinese(tmp_path):
    code, out = await _cli(
        "init",
        "--data-dir",
        str(tmp_path / "d"),
        env={"EXCHANGE_GRPC_LISTEN": "50051", "EXCHANGE_LOG_LEVEL": "LOUD", "LANG": "zh_CN.UTF-8"},
    )
    assert code == 2 and "Traceback" not in out
    assert "错误: 以下设置有误：grpc_listen, log_level" in out, out
    assert "请求内容有误" not in out  # the generic sentence gives way to the one naming the settings
