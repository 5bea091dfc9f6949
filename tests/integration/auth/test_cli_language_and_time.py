"""The CLI in Beijing time and in Chinese: dates typed and shown local, messages under LANG=zh_CN.UTF-8."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner, Result

from exchange.cli import cli
from exchange.testing import HubFixture

BEIJING = timezone(timedelta(hours=8))
ENGLISH = {"EXCHANGE_LANG": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": "C.UTF-8"}
CHINESE = {**ENGLISH, "LANG": "zh_CN.UTF-8"}


async def exchange(hub: HubFixture, tmp_path: Path, department: str, roles: str, *args: str, env=None) -> Result:
    identity = ["--profile", str(hub.write_profile(department, tmp_path / department)), "--roles", roles]
    runner = CliRunner(env={**ENGLISH, **(env or {})})
    return await asyncio.to_thread(runner.invoke, cli, [*args, *identity], catch_exceptions=False)


def us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


async def test_valid_until_a_date_ends_the_grant_at_the_end_of_that_beijing_day(permit_hub, tmp_path):
    created = await exchange(
        permit_hub, tmp_path, "SAMR", "dept_admin",
        "grants", "create", "--consumer", "FIRE", "--dataset", "business_licence", "--field", "name",
        "--valid-until", "2026-12-31",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    grant_id = created.output.split("granted: ")[1].split()[0]
    grant = await permit_hub.running.registry.get_grant(grant_id)
    assert grant.live_at(us(datetime(2026, 12, 31, 23, 59, tzinfo=BEIJING)))
    assert not grant.live_at(us(datetime(2027, 1, 1, 0, 0, tzinfo=BEIJING)))
    listed = await exchange(permit_hub, tmp_path, "FIRE", "dept_admin", "grants", "list")
    assert "2026-12-31 23:59 (UTC+8)" in listed.output


async def test_under_a_chinese_locale_headings_and_refusals_are_chinese(permit_hub, tmp_path):
    listed = await exchange(permit_hub, tmp_path, "FIRE", "dept_admin", "grants", "list", env=CHINESE)
    assert listed.exit_code == 0 and "有效期至" in listed.output and "数据资源" in listed.output
    refused = await exchange(
        permit_hub, tmp_path, "FIRE", "dept_admin",
        "grants", "create", "--consumer", "FIRE", "--dataset", "business_licence", "--field", "name", env=CHINESE,
    )  # fmt: skip
    assert refused.exit_code == 2
    sentence = "错误: 数据资源 business_licence 属于 SAMR；只有该部门或平台管理员可以执行此操作（grants.create）；"
    sentence += "您代表 FIRE。"
    assert sentence in refused.output
    assert "详细信息: " in refused.output and "NOT_OWNER" in refused.output  # the English details follow


async def test_lang_option_wins_over_the_locale(permit_hub, tmp_path):
    listed = await exchange(permit_hub, tmp_path, "FIRE", "dept_admin", "--lang", "en", "grants", "list", env=CHINESE)
    assert "VALID UNTIL" in listed.output
