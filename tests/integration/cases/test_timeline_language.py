"""A case's timeline over gRPC: English for machines, the caller's language when it asks (accept-language)."""

from __future__ import annotations

from exchange.testing import HubFixture

USCC = "91110105MA01XXXXX0"


async def _accepted_case(hub: HubFixture) -> str:
    for code in ("SAMR", "FIRE", "MNR", "PSB"):
        await hub.add_department(code)
    for name in ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate"):
        await hub.register_example_dataset(name)
    await hub.register_example_item("restaurant_permit")
    officer = hub.client("SAMR")
    case = await officer.create_case(service_item="restaurant_permit", applicant_id=USCC, applicant_kind="organisation")
    await officer.transition_case(case.id, "accept", case.version)
    return case.id


async def test_a_caller_asking_for_chinese_reads_the_timeline_in_chinese(hub):
    case_id = await _accepted_case(hub)
    case = await hub.client("SAMR", language="zh-CN").get_case(case_id)
    details = [(step.kind, step.detail) for step in case.timeline]
    assert details[0] == ("submit", "提交申请：政务服务事项 restaurant_permit")
    assert details[1][0] == "accept" and details[1][1].startswith("已受理；承诺时限 ")


async def test_without_accept_language_the_timeline_is_the_recorded_english(hub):
    case_id = await _accepted_case(hub)
    case = await hub.client("SAMR").get_case(case_id)
    details = [(step.kind, step.detail) for step in case.timeline]
    assert details[0] == ("submit", "submitted for restaurant_permit")
    assert details[1][0] == "accept" and details[1][1].startswith("accepted; ") and "+08:00" in details[1][1]
