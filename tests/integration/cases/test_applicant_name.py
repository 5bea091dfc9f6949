"""The applicant's name: given when the case is opened, kept with it, shown by `cases show` and the console."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from exchange.errors import InvalidArgument
from tests.integration.cases.conftest import ITEM, PermitWorld
from tests.integration.cases.test_deadlines_rpc import exchange_cli

APPLICANT_NAME = "北京福满楼餐饮管理有限公司"


async def test_the_applicant_name_is_kept_and_shown_by_cases_show(world: PermitWorld, tmp_path: Path) -> None:
    samr = world.officer("SAMR")
    opened = await samr.create_case(
        ITEM, world.keys["business_licence"], parties=world.parties, applicant_name=f"  {APPLICANT_NAME} "
    )
    assert opened.applicant_name == APPLICANT_NAME
    # The applicant's party entry carries the name too (the applicant is listed first).
    assert (opened.parties[0].relation, opened.parties[0].name) == ("applicant", APPLICANT_NAME)
    read_again = await world.officer("FIRE").get_case(opened.id)
    assert read_again.applicant_name == APPLICANT_NAME

    identity = ["--profile", str(world.hub.write_profile("FIRE", tmp_path / "fire"))]
    shown = await exchange_cli("cases", "show", opened.id, *identity)
    assert f"applicant: {APPLICANT_NAME} ({world.keys['business_licence']})" in shown
    chinese = await exchange_cli("--lang", "zh-CN", "cases", "show", opened.id, *identity)
    assert f"申请人：{APPLICANT_NAME}（{world.keys['business_licence']}）" in chinese


async def test_an_applicant_name_with_control_characters_is_refused_and_logged(world: PermitWorld) -> None:
    samr = world.officer("SAMR")
    with pytest.raises(InvalidArgument) as refused:
        await samr.create_case(ITEM, world.keys["business_licence"], applicant_name="福满楼\x07")
    assert refused.value.grpc_code == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.reason == "VALUE_INVALID_CHARACTERS"
    assert [v.field for v in refused.value.violations] == ["applicant_name"]
    entries = [e for e in await world.hub.log_entries() if e.action == "cases.create"]
    assert [(e.decision, e.reason, e.outcome, e.subject_id) for e in entries] == [
        ("deny", "VALUE_INVALID_CHARACTERS", "INVALID_ARGUMENT", world.keys["business_licence"])
    ]
