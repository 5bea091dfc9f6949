"""Errors in the caller's language: a google.rpc.LocalizedMessage beside ErrorInfo, chosen by accept-language."""

from __future__ import annotations

import pytest

from exchange.errors import PermissionDenied
from exchange.testing import HubFixture
from exchange.v1 import cases_pb2

USCC = "91110105MA01XXXXX0"


@pytest.fixture
async def open_case(hub: HubFixture) -> str:
    """SAMR leads a restaurant-permit case and holds no grant on business licences."""
    for code in ("SAMR", "FIRE", "MNR", "PSB"):
        await hub.add_department(code)
    for name in ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate"):
        await hub.register_example_dataset(name)
    await hub.register_example_item("restaurant_permit")
    officer = hub.client("SAMR")
    created = await officer.call(
        officer._stubs.cases.CreateCase,
        cases_pb2.CreateCaseRequest(service_item="restaurant_permit", applicant_id=USCC, applicant_kind="organisation"),
    )
    return created.case.id


async def _refused(hub: HubFixture, case_id: str, language: str) -> PermissionDenied:
    with pytest.raises(PermissionDenied) as refused:
        await hub.client("SAMR", language=language).fetch("business_licence", USCC, case_id=case_id)
    return refused.value


async def test_a_refused_fetch_asked_in_chinese_carries_a_chinese_localized_message(hub, open_case):
    refused = await _refused(hub, open_case, "zh-CN")
    assert refused.reason == "NO_GRANT"
    assert refused.locale == "zh-CN"
    assert refused.localized_message == "贵部门没有该数据资源的授权；请向其提供部门申请。"
    assert "holds no grant" in refused.message  # the status message stays English for logs and machines
    (last,) = (await hub.log_entries())[-1:]
    assert (last.decision, last.reason, last.caller_department, last.subject_id) == ("deny", "NO_GRANT", "SAMR", USCC)


async def test_without_accept_language_the_localized_message_is_the_english_message(hub, open_case):
    refused = await _refused(hub, open_case, "")
    assert (refused.locale, refused.localized_message) == ("en", refused.message)


async def test_q_weights_choose_the_language_and_an_unknown_one_falls_back_to_english(hub, open_case):
    assert (await _refused(hub, open_case, "fr-FR, zh;q=0.8, en;q=0.5")).locale == "zh-CN"
    assert (await _refused(hub, open_case, "de-DE")).locale == "en"


async def test_a_policy_refusal_asked_in_chinese_says_its_specific_sentence_in_chinese(hub, open_case):
    from exchange.auth.identity import Role

    psb_admin = hub.client("PSB", roles=(Role.DEPT_ADMIN,), language="zh-CN")
    with pytest.raises(PermissionDenied) as refused:
        await psb_admin.set_dataset_status("business_licence", "deprecated")
    assert refused.value.reason == "NOT_OWNER"
    assert refused.value.localized_message == (
        "数据资源 business_licence 属于 SAMR；只有该部门或平台管理员可以执行此操作（catalog.dataset.set_status）；"
        "您代表 PSB。"
    )
    assert "belongs to SAMR" in refused.value.message
