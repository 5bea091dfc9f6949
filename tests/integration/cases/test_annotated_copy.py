"""The annotated copy (加注件): signed by the hub, checked by poppler (pdfsig, pdftotext), logged with its digest."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from exchange.auth.identity import Role
from exchange.cases.lifecycle import CaseState
from exchange.client import AnnotatedCopyInfo, CaseInfo
from exchange.errors import FailedPrecondition, PermissionDenied
from exchange.testing import system_caller
from tests.integration.cases.conftest import PermitWorld, case_in
from tests.integration.cases.test_deadlines_rpc import exchange_cli
from tests.integration.console.conftest import Browser, add_users

# poppler-utils and libnss3-tools: `make pytest` installs them (scripts/ensure-poppler.sh).


def trusting(ca_cert: Path, directory: Path) -> Path:
    """An NSS certificate database that trusts the hub CA (what a recipient sets up once)."""
    directory.mkdir(exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{directory}", "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{directory}", "-n", "exchange hub CA", "-t", "CT,C,C", "-i", str(ca_cert)],
        check=True,
    )
    return directory


def pdfsig(pdf: Path, nss: Path) -> str:
    """What poppler's pdfsig says of the file's signatures (it exits non-zero for an invalid one)."""
    done = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(pdf)], capture_output=True, text=True)
    return done.stdout + done.stderr


def pdftotext(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


async def copy_of_licence(world: PermitWorld, department: str = "SAMR") -> tuple[CaseInfo, AnnotatedCopyInfo]:
    case = await case_in(world, CaseState.IN_REVIEW)
    await world.officer("SAMR").attach_material(case.id, "business_licence", world.keys["business_licence"])
    return case, await world.officer(department, "officer-7").get_annotated_copy(case.id, "business_licence")


async def test_copy_is_signed_by_the_hub_and_pdfsig_finds_it_valid_and_whole(
    world: PermitWorld, tmp_path: Path
) -> None:
    _, copy = await copy_of_licence(world)
    pdf = tmp_path / "copy.pdf"
    copy.save(pdf)
    said = pdfsig(pdf, trusting(world.hub.ca_cert, tmp_path / "nss"))
    assert "Signature is Valid." in said
    assert "Total document signed" in said
    assert "Certificate is Trusted." in said
    assert "exchange-hub document signing" in said
    assert copy.sha256 == hashlib.sha256(copy.pdf).hexdigest()


async def test_copy_shows_purpose_department_officer_and_licence_fields_in_chinese(
    world: PermitWorld, tmp_path: Path
) -> None:
    case, copy = await copy_of_licence(world)
    pdf = tmp_path / "copy.pdf"
    copy.save(pdf)
    text = pdftotext(pdf)
    item = (await world.hub.running.registry.get_service_item(case.service_item)).name
    samr = world.hub.hub.keyring.department("SAMR")
    assert samr is not None
    assert f"仅用于{item}办理" in text
    assert f"{samr.name} (SAMR)" in text
    assert "officer-7" in text and case.id in text
    assert "北京福满楼餐饮管理有限公司" in text and "统一社会信用代码" in text
    assert "北京时间" in text
    assert "log index" in text
    # Fields the department may not see are not on the copy (the grant leaves out company_type).
    assert "有限责任公司" not in text


async def test_copy_names_the_requesting_department_in_chinese_and_english(world: PermitWorld, tmp_path: Path) -> None:
    """The copy is bilingual: the department's Chinese name, then its English one where it has one."""
    registry = world.hub.running.registry
    samr = await registry.get_department("SAMR")
    named = replace(samr, name="市市场监督管理局", name_en="Market Regulation")
    await registry.register_department(named, system_caller())
    _, copy = await copy_of_licence(world)
    pdf = tmp_path / "copy.pdf"
    copy.save(pdf)
    assert "市市场监督管理局 / Market Regulation (SAMR)" in pdftotext(pdf)


async def test_a_byte_changed_in_the_signed_range_makes_pdfsig_fail(world: PermitWorld, tmp_path: Path) -> None:
    _, copy = await copy_of_licence(world)
    # The page's width in its MediaBox lies in the first signed range.
    at = copy.pdf.index(b"595")
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(copy.pdf[:at] + b"596" + copy.pdf[at + 3 :])
    said = pdfsig(tampered, trusting(world.hub.ca_cert, tmp_path / "nss"))
    assert "Signature is Valid." not in said
    assert "Digest Mismatch" in said or "Signature is Invalid" in said


async def test_request_is_logged_with_the_copy_digest_under_the_subject(world: PermitWorld) -> None:
    case, copy = await copy_of_licence(world)
    (entry,) = [e for e in await world.hub.log_entries() if e.action == "cases.material.annotated_copy"]
    assert entry.decision == "allow" and entry.outcome == "OK"
    assert entry.subject_id == world.keys["business_licence"] and entry.case_id == case.id
    assert entry.caller_department == "SAMR" and entry.officer_id == "officer-7"
    assert entry.details["copy_sha256"] == copy.sha256 == entry.response_digest
    assert int(entry.details["copy_valid_until_us"]) == copy.valid_until_us
    assert copy.receipt.index == entry_index(await world.hub.log_entries(), entry)


def entry_index(entries: list, wanted: object) -> int:
    return next(i for i, e in enumerate(entries) if e == wanted)


async def test_auditor_is_refused_the_copy_and_the_refusal_logged(world: PermitWorld) -> None:
    case = await case_in(world, CaseState.IN_REVIEW)
    await world.officer("SAMR").attach_material(case.id, "business_licence", world.keys["business_licence"])
    auditor = world.hub.client("HUB", officer="auditor-1", roles=[Role.AUDITOR])
    with pytest.raises(PermissionDenied) as refused:
        await auditor.get_annotated_copy(case.id, "business_licence")
    assert refused.value.reason == "ROLE_NOT_ALLOWED"
    (entry,) = [e for e in await world.hub.log_entries() if e.action == "cases.material.annotated_copy"]
    assert (entry.decision, entry.reason, entry.outcome) == ("deny", "ROLE_NOT_ALLOWED", "PERMISSION_DENIED")
    assert (entry.caller_department, entry.officer_id, entry.subject_id) == ("HUB", "auditor-1", "")


async def test_department_not_on_the_case_is_refused_and_logged_under_the_subject(world: PermitWorld) -> None:
    case = await case_in(world, CaseState.IN_REVIEW)
    await world.officer("SAMR").attach_material(case.id, "business_licence", world.keys["business_licence"])
    with pytest.raises(PermissionDenied) as refused:
        await world.officer("TAX").get_annotated_copy(case.id, "business_licence")
    (entry,) = [e for e in await world.hub.log_entries() if e.action == "cases.material.annotated_copy"]
    assert (entry.decision, entry.reason, entry.outcome) == ("deny", refused.value.reason, "PERMISSION_DENIED")
    assert entry.subject_id == world.keys["business_licence"] and entry.caller_department == "TAX"


async def test_cli_saves_the_copy_that_pdfsig_validates(world: PermitWorld, tmp_path: Path) -> None:
    case = await case_in(world, CaseState.IN_REVIEW)
    await world.officer("SAMR").attach_material(case.id, "business_licence", world.keys["business_licence"])
    identity = ["--profile", str(world.hub.write_profile("MNR", tmp_path / "mnr"))]
    pdf = tmp_path / "licence.pdf"
    said = await exchange_cli("cases", "annotated-copy", case.id, "business_licence", "-o", str(pdf), *identity)
    digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert str(pdf) in said and digest in said
    assert "Signature is Valid." in pdfsig(pdf, trusting(world.hub.ca_cert, tmp_path / "nss"))
    (entry,) = [e for e in await world.hub.log_entries() if e.action == "cases.material.annotated_copy"]
    assert entry.caller_department == "MNR" and entry.details["copy_sha256"] == digest


async def test_console_offers_the_copy_to_a_case_department_and_refuses_the_auditor(
    world: PermitWorld, tmp_path: Path
) -> None:
    case = await case_in(world, CaseState.IN_REVIEW)
    await world.officer("SAMR").attach_material(case.id, "business_licence", world.keys["business_licence"])
    await add_users(world.hub, ("fire-admin", "dept_admin", "FIRE"), ("audrey", "auditor", "HUB"))
    link = f"/cases/{case.id}/materials/business_licence/annotated-copy.pdf"
    fire, auditor = Browser.of(world.hub), Browser.of(world.hub)
    try:
        await fire.sign_in("fire-admin")
        _, page = await fire.get(f"/cases/{case.id}")
        assert f"{link}?version=1" in page
        async with fire.session.get(fire.base + link) as response:
            assert response.status == 200 and response.content_type == "application/pdf"
            pdf = tmp_path / "console.pdf"
            pdf.write_bytes(await response.read())
        assert "Signature is Valid." in pdfsig(pdf, trusting(world.hub.ca_cert, tmp_path / "nss"))
        assert "(FIRE)" in pdftotext(pdf)
        await auditor.sign_in("audrey")
        _, page = await auditor.get(f"/cases/{case.id}")
        assert link not in page
        status, _ = await auditor.get(link)
        assert status == 403
    finally:
        await fire.close()
        await auditor.close()
    made, refused = [e for e in await world.hub.log_entries() if e.action == "cases.material.annotated_copy"]
    assert (made.caller_department, made.officer_id, made.decision) == ("FIRE", "console:fire-admin", "allow")
    assert made.details["copy_sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert (refused.decision, refused.reason, refused.outcome) == ("deny", "ROLE_NOT_ALLOWED", "PERMISSION_DENIED")
    # Refused at the console's door, as at the gRPC one: before any case or subject was read.
    assert (refused.officer_id, refused.subject_id) == ("console:audrey", "")


async def test_expired_material_gets_no_copy_and_the_refusal_is_logged(world: PermitWorld) -> None:
    case = await case_in(world, CaseState.IN_REVIEW)
    key = world.keys["fire_safety_certificate"]
    world.adapters["FIRE"].documents[("fire_safety_certificate", key)]["valid_until"] = "2025-12-31"
    await world.officer("SAMR").attach_material(case.id, "fire_safety_certificate", key)
    with pytest.raises(FailedPrecondition) as refused:
        await world.officer("SAMR").get_annotated_copy(case.id, "fire_safety_certificate")
    assert refused.value.reason == "MATERIAL_EXPIRED" and "refresh" in refused.value.message
    (entry,) = [e for e in await world.hub.log_entries() if e.action == "cases.material.annotated_copy"]
    assert (entry.reason, entry.outcome, entry.subject_id) == (
        "MATERIAL_EXPIRED",
        "FAILED_PRECONDITION",
        world.keys["business_licence"],
    )
