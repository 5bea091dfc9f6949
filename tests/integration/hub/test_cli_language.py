"""The CLI's success and next-step lines follow the locale: Chinese under LANG=zh_CN.UTF-8, English with --lang en."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner, Result

from exchange.cli import cli
from exchange.testing import EXAMPLES, HubFixture
from tests.integration.hub.test_cli_operator import admin

CHINESE = {"LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": "", "EXCHANGE_LANG": ""}


async def invoke(*args: str) -> Result:
    runner = CliRunner(env=CHINESE)
    return await asyncio.to_thread(runner.invoke, cli, list(args), catch_exceptions=False)


async def test_departments_register_answers_in_chinese_under_a_chinese_locale(hub: HubFixture, tmp_path: Path) -> None:
    spec = str(EXAMPLES / "catalog" / "departments" / "svc.yaml")
    registered = await invoke("departments", "register", spec, *admin(hub, tmp_path))
    assert registered.exit_code == 0, registered.output
    assert "SVC：已注册（0 个密钥）" in registered.output
    assert "下一步：签发其客户端证书：exchange pki issue SVC" in registered.output
    assert "生成令牌密钥对：" in registered.output and "exchange departments keygen SVC" in registered.output
    assert "registered" not in registered.output and "next:" not in registered.output
    # The department is stored with its Chinese name.
    assert (await hub.running.registry.get_department("SVC")).name == "朝阳区政务服务中心"


async def test_lang_en_keeps_the_success_lines_english(hub: HubFixture, tmp_path: Path) -> None:
    spec = str(EXAMPLES / "catalog" / "departments" / "svc.yaml")
    registered = await invoke("--lang", "en", "departments", "register", spec, *admin(hub, tmp_path))
    assert registered.exit_code == 0, registered.output
    assert "SVC: registered (0 key(s))" in registered.output
    assert "next: issue its client certificate" in registered.output


def test_pki_init_and_issue_print_chinese_without_a_hub(tmp_path: Path) -> None:
    runner = CliRunner(env=CHINESE)
    made = runner.invoke(cli, ["pki", "init", "--dir", str(tmp_path / "pki")])
    assert made.exit_code == 0, made.output
    assert "CA 指纹：" in made.output and "尽量离线保存" in made.output
    issued = runner.invoke(cli, ["pki", "issue", "SVC", "--dir", str(tmp_path / "pki"), "--out", str(tmp_path / "svc")])
    assert issued.exit_code == 0, issued.output
    assert "私钥：" in issued.output and "（只交给 SVC）" in issued.output
