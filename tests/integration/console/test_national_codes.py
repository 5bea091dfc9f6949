"""National item codes (基本编码, 实施编码): registered with an item, checked against the hub's format, found by
either code through gRPC, the CLI and the console."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from exchange.auth.identity import Role
from exchange.cli import cli
from exchange.errors import InvalidArgument
from exchange.testing import EXAMPLES, HubFixture

from .conftest import Browser

BASIC = "000117001000"
IMPLEMENTATION = "11440300MB2C12345X4000117001000"


async def register_permit(hub: HubFixture, **codes: str) -> None:
    await hub.register_example_item(
        "restaurant_permit",
        co_reviewers=[],
        required_materials=[{"dataset": "identity_record", "fields": ["resident_id", "name"]}],
        **codes,
    )


async def exchange(hub: HubFixture, tmp_path: Path, *args: str) -> Result:
    """Run one `exchange` command as a SAMR officer, in a worker thread (it runs its own event loop)."""
    profile = hub.write_profile("SAMR", tmp_path / "SAMR")
    identity = ["--profile", str(profile), "--roles", "officer"]
    return await asyncio.to_thread(CliRunner().invoke, cli, [*args, *identity], catch_exceptions=False)


async def test_item_registered_with_an_implementation_code_is_found_by_that_code_over_grpc(
    console_hub: HubFixture,
) -> None:
    await register_permit(console_hub, basic_code=BASIC, implementation_code=IMPLEMENTATION)
    officer = console_hub.client("SAMR")
    by_implementation = await officer.list_service_items(national_code=IMPLEMENTATION)
    by_basic = await officer.list_service_items(national_code=BASIC)
    unknown = await officer.list_service_items(national_code="999999999999")
    assert [(i.code, i.basic_code, i.implementation_code) for i in by_implementation] == [
        ("restaurant_permit", BASIC, IMPLEMENTATION)
    ]
    assert [i.code for i in by_basic] == ["restaurant_permit"]
    assert unknown == []


async def test_item_is_found_by_its_implementation_code_from_the_command_line(
    console_hub: HubFixture, tmp_path: Path
) -> None:
    await register_permit(console_hub, basic_code=BASIC, implementation_code=IMPLEMENTATION)
    listed = await exchange(console_hub, tmp_path, "items", "list", "--code", IMPLEMENTATION, "-o", "json")
    found = await exchange(console_hub, tmp_path, "items", "find", IMPLEMENTATION, "-o", "json")
    missing = await exchange(console_hub, tmp_path, "--lang", "zh-CN", "items", "find", "999999999999")
    assert listed.exit_code == 0, listed.output
    assert [(r["code"], r["basic_code"], r["implementation_code"]) for r in json.loads(listed.output)] == [
        ("restaurant_permit", BASIC, IMPLEMENTATION)
    ]
    assert found.exit_code == 0 and [r["code"] for r in json.loads(found.output)] == ["restaurant_permit"]
    assert missing.exit_code != 0 and "没有基本编码或实施编码为 999999999999 的政务服务事项" in missing.output


async def test_item_is_found_by_its_implementation_code_in_the_console_in_chinese(console_hub: HubFixture) -> None:
    await register_permit(console_hub, basic_code=BASIC, implementation_code=IMPLEMENTATION)
    browser = Browser.of(console_hub, language="zh-CN")
    try:
        await browser.sign_in("samr-admin")
        status, listed = await browser.get(f"/items?code={IMPLEMENTATION}")
        assert status == 200 and "实施编码" in listed and "基本编码" in listed
        assert 'href="/console/items/restaurant_permit"' in listed or "/items/restaurant_permit" in listed
        status, none = await browser.get("/items?code=999999999999")
        assert status == 200 and "/items/restaurant_permit" not in none
        status, page = await browser.get("/items/restaurant_permit")
        assert status == 200 and "基本编码" in page and BASIC in page and IMPLEMENTATION in page
    finally:
        await browser.close()


async def test_implementation_code_of_the_wrong_format_is_refused_with_the_setting_named_and_logged(
    console_hub: HubFixture,
) -> None:
    admin = console_hub.client("HUB", roles=(Role.HUB_ADMIN,))
    spec = (
        "kind: ServiceItem\nspec:\n  code: restaurant_permit\n  name: 食品经营许可\n  lead_department: SAMR\n"
        "  time_limit_days: 10\n  implementation_code: '12345'\n"
        "  required_materials:\n    - dataset: identity_record\n      fields: [resident_id]\n"
    )
    with pytest.raises(InvalidArgument) as refused:
        await admin.register_service_item(spec)
    assert refused.value.reason == "INVALID_SERVICE_ITEM"
    assert [v.field for v in refused.value.violations] == ["implementation_code"]
    assert "item_implementation_code_pattern" in refused.value.violations[0].description
    entries = [e for e in await console_hub.log_entries() if e.action == "items.register"]
    assert [(e.decision, e.reason, e.outcome, e.caller_department, e.subject_id) for e in entries] == [
        ("deny", "INVALID_SERVICE_ITEM", "INVALID_ARGUMENT", "HUB", "")
    ]


async def test_national_code_format_is_a_hub_setting(tmp_path: Path) -> None:
    from exchange.testing import start_test_hub

    hub = await start_test_hub(tmp_path / "hub", item_implementation_code_pattern=r"^\d{5}$")
    try:
        for code in ("SAMR", "PSB"):
            await hub.add_department(code)
        await hub.register_example_dataset("identity_record")
        await register_permit(hub, implementation_code="12345")
        found = await hub.client("PSB").list_service_items(national_code="12345")
        assert [i.code for i in found] == ["restaurant_permit"]
    finally:
        await hub.stop()


async def test_dataset_is_found_by_its_resource_code_and_classification_in_chinese(
    console_hub: HubFixture, tmp_path: Path
) -> None:
    officer = console_hub.client("SAMR")
    by_code = await officer.search_datasets("440300-A0201-0001")
    by_class = await officer.search_datasets("人口信息")
    assert [d.code for d in by_code] == ["identity_record"]
    assert [(d.code, d.classification) for d in by_class] == [
        ("identity_record", ("基础信息资源", "人口信息", "户籍和居民身份"))
    ]
    assert by_class[0].spec["sharing_method"] == "interface" and by_class[0].spec["open_attribute"] == "not_open"

    listed = await exchange(console_hub, tmp_path, "catalog", "list", "--search", "户籍和居民身份", "-o", "json")
    assert listed.exit_code == 0, listed.output
    assert [(r["code"], r["resource_code"]) for r in json.loads(listed.output)] == [
        ("identity_record", "440300-A0201-0001")
    ]

    browser = Browser.of(console_hub, language="zh-CN")
    try:
        await browser.sign_in("root")
        status, found = await browser.get("/catalog?q=人口信息")
        assert status == 200 and "440300-A0201-0001" in found and "资源代码" in found and "资源分类" in found
        assert "/catalog/business_licence" not in found
        status, page = await browser.get("/catalog/identity_record")
        assert status == 200
        labels = ("资源目录信息", "资源代码", "资源分类", "提供方代码", "共享条件", "共享方式", "开放属性", "更新周期")
        assert [label for label in labels if label not in page] == []
        assert "基础信息资源 / 人口信息 / 户籍和居民身份" in page and "不予开放" in page and "接口" in page
    finally:
        await browser.close()


async def test_sharing_conditions_on_an_unconditional_dataset_are_refused_with_what_to_do(
    console_hub: HubFixture,
) -> None:
    spec = (EXAMPLES / "catalog" / "datasets" / "business_licence.yaml").read_text()
    conditions = "  sharing_method: interface\n  sharing_conditions: 仅限本市\n"
    spec = spec.replace("  sharing_method: interface\n", conditions)
    spec = spec.replace("publication_date: 2026-01-15", 'publication_date: "2026-13-01"')
    admin = console_hub.client("SAMR", roles=(Role.DEPT_ADMIN,))
    with pytest.raises(InvalidArgument) as refused:
        await admin.register_dataset(spec)
    assert refused.value.reason == "INVALID_DATASET"
    problems = {v.field: v.description for v in refused.value.violations}
    assert set(problems) == {"sharing_conditions", "publication_date"}
    assert "remove them or make the entry conditional" in problems["sharing_conditions"]
    assert "2026-01-15" in problems["publication_date"]
    entries = [e for e in await console_hub.log_entries() if e.action == "catalog.dataset.register"]
    assert [(e.decision, e.reason, e.outcome, e.caller_department, e.subject_id) for e in entries][-1] == (
        "deny",
        "INVALID_DATASET",
        "INVALID_ARGUMENT",
        "SAMR",
        "",
    )
