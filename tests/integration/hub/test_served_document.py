"""A minimised Fetch result, and a case material, verify offline at their last recipient.

Real hub, real Provider server on loopback; the checks run with the issuer's public key alone (and, for
the receipt, an evidence bundle and the hub's log key), through `exchange.client.verify_document` and
the `exchange verify document` command. Altering, adding or dropping a served field fails, naming it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from adapters.jcs import canonicalize
from adapters.server import start_provider
from adapters.signing import Disclosure, DocumentSigner
from exchange.auth.identity import Role
from exchange.auth.keys import public_key_to_pem
from exchange.client import verify_document
from exchange.errors import DataLoss
from exchange.served_document import verify_served
from exchange.testing import HubFixture
from exchange.v1 import cases_pb2
from tests.integration.hub.test_fetch import MemoryAdapter, licence

SERVED = ("name", "status", "address")


@pytest.fixture
async def world(hub: HubFixture, tmp_path: Path) -> Any:
    """SAMR serves a licence through its adapter; a restaurant permit case is open; the grant covers all fields."""
    samr = await hub.add_department("SAMR")
    for code in ("FIRE", "MNR", "PSB"):
        await hub.add_department(code)
    for name in ("business_licence", "identity_record", "property_certificate", "fire_safety_certificate"):
        await hub.register_example_dataset(name)
    await hub.register_example_item("restaurant_permit")
    doc = licence(random.Random(11))
    ds = await hub.running.registry.get_dataset("business_licence")
    adapter = MemoryAdapter("SAMR", [ds], {("business_licence", doc["unified_social_credit_code"]): doc})
    provider = await start_provider(
        adapter,
        DocumentSigner("SAMR", samr.signing_kid, samr.signing_key),
        listen="127.0.0.1:0",
        tls=hub.adapter_tls("SAMR"),
    )
    await hub.add_department("SAMR", adapter_endpoint=f"127.0.0.1:{provider.port}")
    officer = hub.client("SAMR")
    case = await officer.call(
        officer._stubs.cases.CreateCase,
        cases_pb2.CreateCaseRequest(
            service_item="restaurant_permit",
            applicant_id=doc["unified_social_credit_code"],
            applicant_kind="organisation",
        ),
    )
    await hub.client("HUB", roles=[Role.HUB_ADMIN]).create_grant("SAMR", "business_licence", ["*"])
    key_file = tmp_path / "samr-signing.pem"
    key_file.write_text(public_key_to_pem(samr.signing_public_key))
    try:
        yield {"hub": hub, "doc": doc, "officer": officer, "case": case.case.id, "key": key_file}
    finally:
        await provider.stop(grace=0.1)


async def fetched(world: Any, tmp_path: Path) -> Path:
    """Fetch three fields of the licence and keep the served response as a file."""
    document = await world["officer"].fetch(
        "business_licence", world["doc"]["unified_social_credit_code"], case_id=world["case"], fields=SERVED
    )
    path = tmp_path / "served.json"
    document.save(path)
    return path


async def cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "exchange.cli", "verify", "document", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_a_minimised_fetch_verifies_offline_with_the_issuers_key_and_its_receipt_is_in_the_log(
    world: Any, tmp_path: Path
) -> None:
    path = await fetched(world, tmp_path)
    hub = world["hub"]
    await hub.hub.access_log.sign_checkpoint()
    saved = json.loads(path.read_text())
    bundle = await hub.hub.access_log.evidence_bundle(int(saved["receipt"]["log_index"]))
    (tmp_path / "entry.proof").write_text(bundle.to_text())
    vkey = hub.hub.signer.verifier().verifier_key()
    check = verify_document(path, world["key"], bundle=tmp_path / "entry.proof", log_key=vkey)
    assert check.document == {name: world["doc"][name] for name in SERVED}
    assert not check.not_checked and any("records exactly this response" in line for line in check.holds)
    code, out, err = await cli(str(path), "--key", str(world["key"]), "--bundle", str(tmp_path / "entry.proof"),
                               "--log-key", vkey)  # fmt: skip
    assert code == 0, err
    assert "holds: the envelope is signed by SAMR" in out and "were withheld" in out and "log entry" in out


def rewrite(path: Path, change: Any) -> None:
    """Change the saved response as a relay or a user might, keeping it well-formed."""
    saved = json.loads(path.read_text())
    provenance = saved["provenance"]
    disclosures = [json.loads(base64.b64decode(d)) for d in provenance["disclosures"]]
    document = json.loads(base64.b64decode(saved["document_json"]))
    disclosures, document = change(disclosures, document)
    provenance["disclosures"] = [base64.b64encode(canonicalize(d)).decode() for d in disclosures]
    saved["document_json"] = base64.b64encode(canonicalize(document)).decode()
    path.write_text(json.dumps(saved))


def altered(disclosures: list[Any], document: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    return [[s, n, "03" if n == "status" else v] for s, n, v in disclosures], {**document, "status": "03"}


def added(disclosures: list[Any], document: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    extra = Disclosure("B" * 22, "legal_representative", "Someone Else")
    return [*disclosures, [extra.salt, extra.name, extra.value]], {**document, "legal_representative": "Someone Else"}


def dropped(disclosures: list[Any], document: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    return [d for d in disclosures if d[1] != "address"], document


@pytest.mark.parametrize(
    ("change", "field"), [(altered, "status"), (added, "legal_representative"), (dropped, "address")]
)
async def test_altering_adding_or_dropping_a_served_field_fails_naming_it(
    world: Any, tmp_path: Path, change: Any, field: str
) -> None:
    path = await fetched(world, tmp_path)
    rewrite(path, change)
    with pytest.raises(DataLoss) as refused:
        verify_document(path, world["key"])
    assert refused.value.metadata["field"] == field and repr(field) in refused.value.message
    code, _, err = await cli(str(path), "--key", str(world["key"]))
    assert code == 1 and f"field {field}" in err and "FAILED" in err


async def test_a_case_material_keeps_what_reverifies_it(world: Any) -> None:
    officer, uscc = world["officer"], world["doc"]["unified_social_credit_code"]
    await officer.call(
        officer._stubs.cases.AttachMaterial,
        cases_pb2.AttachMaterialRequest(case_id=world["case"], dataset="business_licence", key=uscc),
    )
    answer = await officer.call(
        officer._stubs.cases.GetMaterial,
        cases_pb2.GetMaterialRequest(case_id=world["case"], dataset="business_licence"),
    )
    material = answer.material
    key = world["hub"].departments["SAMR"].signing_public_key
    check = verify_served(material.document_json, material.fields, material.provenance, key)
    assert check.document == json.loads(material.document_json) and check.document["status"] == world["doc"]["status"]
    listed = await officer.call(
        officer._stubs.cases.ListMaterials, cases_pb2.ListMaterialsRequest(case_id=world["case"])
    )
    assert not listed.materials[0].provenance.disclosures  # a listing carries no field values
