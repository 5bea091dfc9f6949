"""Signing-key rotation: a department adds a new key, its adapter switches, the retired key still verifies."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.sdk import SourceAdapter
from adapters.server import RunningAdapter, signed_from_proto, start_provider
from adapters.signing import DocumentSigner, verify_document
from adapters.sources.files import FileSource
from catalog.model import DepartmentKey, KeyUse
from exchange.auth.keys import generate_ed25519, key_id, public_key_to_pem
from exchange.testing import HubFixture, system_caller
from exchange.v1 import provider_pb2

from .hubsetup import CONSUMER, example_dataset, grant, open_case

USCC = "91110105MA01ABCD13"
ROW = {
    "unified_social_credit_code": USCC,
    "name": "Example Catering Co., Ltd.",
    "company_type": "limited liability company",
    "legal_representative": "Wang Fang",
    "legal_representative_id": None,
    "registered_capital": None,
    "established_on": None,
    "address": "1 Jianguo Road",
    "business_scope": None,
    "registration_authority": "Chaoyang Market Regulation",
    "status": "01",
    "valid_until": None,
    "licence_id": "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
}


async def test_documents_signed_before_a_rotation_still_verify_and_new_ones_use_the_new_key(
    hub: HubFixture, tmp_path: Path
) -> None:
    path = tmp_path / "licences.parquet"
    table = pa.Table.from_pylist([{**ROW, "established_on": "2019-04-01"}])
    pq.write_table(table.set_column(6, "established_on", table.column("established_on").cast(pa.date32())), path)
    ds = example_dataset("business_licence")
    old, new = generate_ed25519(), generate_ed25519()

    async def serve(key: Ed25519PrivateKey, listen: str = "127.0.0.1:0") -> RunningAdapter:
        source = FileSource(path, "unified_social_credit_code", {}, ds.schema.arrow_schema())
        signer = DocumentSigner("SAMR", key_id(key.public_key()), key)
        adapter = SourceAdapter("SAMR", {ds.code: (ds, source, "files")})
        return await start_provider(adapter, signer, listen=listen, tls=hub.adapter_tls("SAMR"))

    first = await serve(old)
    endpoint = f"127.0.0.1:{first.port}"
    await hub.add_department("SAMR", adapter_endpoint=endpoint, signing_public_key=old.public_key())
    await hub.add_department(CONSUMER)
    await hub.register_example_dataset("business_licence")
    needed = [{"dataset": "business_licence", "fields": ["unified_social_credit_code", "name", "status"]}]
    await hub.register_example_item(
        "restaurant_permit", lead_department=CONSUMER, co_reviewers=[], required_materials=needed
    )
    await grant(hub, "business_licence", ("unified_social_credit_code", "name", "status"))
    case_id = await open_case(hub, "restaurant_permit", CONSUMER, USCC)
    client = hub.client(CONSUMER)
    before = await client.fetch("business_licence", USCC, case_id=case_id)
    answer = await hub.hub.adapters.lookup(
        "SAMR", endpoint, provider_pb2.LookupRequest(dataset="business_licence", key=USCC)
    )
    kept = signed_from_proto(answer.document)
    await first.stop(grace=0)

    # The department registers its new key, restarts its adapter with it, and retires the old one.
    registry = hub.running.registry
    new_kid = key_id(new.public_key())
    await registry.add_key(
        "SAMR", DepartmentKey(new_kid, KeyUse.SIGNING, "EdDSA", public_key_to_pem(new)), system_caller()
    )
    second = await serve(new, endpoint)  # restarted on the same address
    try:
        await registry.retire_key("SAMR", key_id(old.public_key()), system_caller())
        after = await client.fetch("business_licence", USCC, case_id=case_id)
        assert (before.provenance.kid, after.provenance.kid) == (key_id(old.public_key()), new_kid)
        verify_document(kept, hub.hub.keyring.signing_key)  # signed with the retired key: still good
    finally:
        await second.stop(grace=0)
