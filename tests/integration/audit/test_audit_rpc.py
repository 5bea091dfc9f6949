"""The AuditService on a real hub: proofs from stored nodes, checkpoints, queries, the citizen report."""

from __future__ import annotations

import grpc
import pytest

from exchange.audit.bundle import EvidenceBundle, verify_bundle
from exchange.audit.entry import encode_entry
from exchange.audit.merkle import (
    consistency_proof_from_leaves,
    inclusion_proof_from_leaves,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from exchange.audit.note import NoteVerifier, open_checkpoint
from exchange.auth.identity import Role
from exchange.errors import ExchangeError
from exchange.testing import HubFixture
from exchange.v1 import audit_pb2, common_pb2

from .logsetup import CITIZEN
from .logsetup import fill as _fill

AUDITOR = (Role.AUDITOR,)


async def _leaves(hub: HubFixture) -> list[bytes]:
    """Leaf hashes recomputed from the stored entry bytes, independent of the stored tree nodes."""
    return [leaf_hash(encode_entry(e)) for e in await hub.log_entries()]


async def test_proofs_served_from_stored_nodes_match_a_tree_rebuilt_from_the_entries(
    any_backend_hub: HubFixture,
) -> None:
    hub = any_backend_hub
    await hub.add_department("SAMR")
    await _fill(hub, 37)
    client = hub.client("HUB", roles=AUDITOR)
    first = await client.call(client._stubs.audit.GetCheckpoint, audit_pb2.GetCheckpointRequest(sign_now=True))
    verifier = NoteVerifier.from_vkey(first.verifier_key)
    checkpoint = open_checkpoint(first.checkpoint.signed_note, verifier, origin=hub.settings.log_origin)
    leaves = await _leaves(hub)
    assert checkpoint.size == len(leaves) and checkpoint.root_hash == root_from_leaf_hashes(leaves)
    for index in range(checkpoint.size):
        proof = await client.call(
            client._stubs.audit.GetInclusionProof, audit_pb2.GetInclusionProofRequest(index=index)
        )
        assert proof.tree_size == checkpoint.size and proof.leaf_hash == leaves[index]
        assert list(proof.hashes) == inclusion_proof_from_leaves(index, leaves)
        verify_inclusion(proof.leaf_hash, index, proof.tree_size, list(proof.hashes), checkpoint.root_hash)
    await _fill(hub, 29, start=37)
    second = await client.call(client._stubs.audit.GetCheckpoint, audit_pb2.GetCheckpointRequest(sign_now=True))
    later = open_checkpoint(second.checkpoint.signed_note, verifier)
    leaves = await _leaves(hub)
    for old in (1, 2, 7, 16, 33, checkpoint.size, later.size):
        answer = await client.call(
            client._stubs.audit.GetConsistencyProof, audit_pb2.GetConsistencyProofRequest(old_size=old)
        )
        assert answer.new_size == later.size
        assert list(answer.hashes) == consistency_proof_from_leaves(old, leaves)
        verify_consistency(old, later.size, root_from_leaf_hashes(leaves[:old]), later.root_hash, list(answer.hashes))
    # A proof against an older tree size names it explicitly.
    old_proof = await client.call(
        client._stubs.audit.GetInclusionProof,
        audit_pb2.GetInclusionProofRequest(index=5, tree_size=checkpoint.size),
    )
    verify_inclusion(old_proof.leaf_hash, 5, checkpoint.size, list(old_proof.hashes), checkpoint.root_hash)
    assert old_proof.checkpoint.size == checkpoint.size


async def test_an_evidence_bundle_verifies_offline_with_the_hub_key_alone(hub: HubFixture) -> None:
    await hub.add_department("SAMR")
    await _fill(hub, 5)
    client = hub.client("SAMR")
    answer = await client.call(client._stubs.audit.GetEvidenceBundle, audit_pb2.GetEvidenceBundleRequest(index=3))
    key = hub.hub.signer.verifier()
    entry = verify_bundle(EvidenceBundle.from_text(answer.bundle), key, origin=hub.settings.log_origin)
    assert entry == (await hub.log_entries())[3]


async def test_proofs_for_entries_beyond_the_log_are_refused_with_a_reason(hub: HubFixture) -> None:
    await hub.add_department("SAMR")
    client = hub.client("HUB", roles=AUDITOR)
    with pytest.raises(ExchangeError) as caught:
        await client.call(client._stubs.audit.GetInclusionProof, audit_pb2.GetInclusionProofRequest(index=999))
    assert caught.value.grpc_code == grpc.StatusCode.NOT_FOUND
    assert caught.value.reason == "ENTRY_NOT_FOUND"
    with pytest.raises(ExchangeError) as caught:
        await client.call(
            client._stubs.audit.GetConsistencyProof,
            audit_pb2.GetConsistencyProofRequest(old_size=1, new_size=10_000),
        )
    assert caught.value.reason == "TREE_SIZE_TOO_LARGE"


async def test_auditors_filter_page_and_order_entries_and_see_no_payloads(any_backend_hub: HubFixture) -> None:
    hub = any_backend_hub
    await hub.add_department("SAMR")
    await _fill(hub, 40)
    client = hub.client("HUB", roles=AUDITOR)
    request = audit_pb2.QueryEntriesRequest(
        filter=audit_pb2.EntryFilter(
            subject_id=CITIZEN, officer_id="officer-0", decision=common_pb2.DECISION_ALLOW, case_id="case-2"
        ),
        page=common_pb2.PageRequest(page_size=2),
        newest_first=True,
    )
    pages = [page async for page in client.stream(client._stubs.audit.QueryEntries, request)]
    got = [e for page in pages for e in page.entries]
    expected = [
        e
        for e in await hub.log_entries()
        if e.subject_id == CITIZEN and e.officer_id == "officer-0" and e.decision == "allow" and e.case_id == "case-2"
    ]
    assert [e.index for e in got] == [e.index for e in reversed(expected)] and len(got) >= 2
    assert all(len(p.entries) <= 2 for p in pages)
    # Resume from a page token, oldest first, with a time window and a limit.
    first = [
        p
        async for p in client.stream(
            client._stubs.audit.QueryEntries,
            audit_pb2.QueryEntriesRequest(
                filter=audit_pb2.EntryFilter(
                    from_us=1_800_000_000_000_010, until_us=1_800_000_000_000_030, department="SAMR"
                ),
                page=common_pb2.PageRequest(page_size=5),
                limit=5,
            ),
        )
    ]
    assert [e.time_us - 1_800_000_000_000_000 for e in first[0].entries] == [10, 11, 12, 13, 14]
    rest = [
        p
        async for p in client.stream(
            client._stubs.audit.QueryEntries,
            audit_pb2.QueryEntriesRequest(
                filter=audit_pb2.EntryFilter(until_us=1_800_000_000_000_030, department="SAMR", reason="NO_GRANT"),
                page=common_pb2.PageRequest(page_size=5, page_token=first[-1].page.next_page_token),
            ),
        )
    ]
    assert [e.time_us - 1_800_000_000_000_000 for p in rest for e in p.entries] == [15, 20, 25]


async def test_only_auditors_read_the_log(hub: HubFixture) -> None:
    await hub.add_department("SAMR")
    officer = hub.client("SAMR")
    with pytest.raises(ExchangeError) as caught:
        async for _ in officer.stream(officer._stubs.audit.QueryEntries, audit_pb2.QueryEntriesRequest()):
            pass
    assert caught.value.reason == "ROLE_NOT_ALLOWED"
    assert (await hub.log_entries())[-1].reason == "ROLE_NOT_ALLOWED"


async def test_citizen_report_names_departments_in_the_callers_language(hub: HubFixture) -> None:
    """English names for a caller asking for English (or for nothing: machines read English), Chinese
    names for one asking for Chinese; a department without an English name reads in Chinese to both."""
    await hub.add_department("SAMR", name="市市场监督管理局", name_en="Municipal Administration for Market Regulation")
    await hub.add_department("PSB", name="市公安局")
    await hub.register_example_dataset("identity_record")
    await _fill(hub, 2, department="SAMR")
    await _fill(hub, 2, department="PSB", start=2)
    wanted = audit_pb2.GetSubjectReportRequest(subject_id=CITIZEN)

    def names(report: audit_pb2.GetSubjectReportResponse) -> dict[str, str]:
        return {a.department: a.department_name for a in report.accesses}

    by_language = {}
    for language in ("en", "zh-CN", ""):
        reader = hub.client("HUB", roles=(Role.HUB_ADMIN,), language=language)
        by_language[language] = names(await reader.call(reader._stubs.audit.GetSubjectReport, wanted))
    assert by_language["en"] == {"SAMR": "Municipal Administration for Market Regulation", "PSB": "市公安局"}
    assert by_language["zh-CN"] == {"SAMR": "市市场监督管理局", "PSB": "市公安局"}
    assert by_language[""] == by_language["en"]


async def test_citizen_report_is_newest_first_paged_and_leaves_out_hidden_accesses(
    any_backend_hub: HubFixture,
) -> None:
    hub = any_backend_hub
    await hub.add_department("SAMR", name="Market regulation")
    await hub.add_department("MPS", name="Public security")
    await hub.add_department("PSB", name="Population register")
    await hub.register_example_dataset("identity_record")
    admin = hub.client("HUB", roles=(Role.HUB_ADMIN,))
    await admin.call(
        admin._stubs.audit.SetHiddenAccesses,
        audit_pb2.SetHiddenAccessesRequest(department="MPS", hidden=True, legal_basis="State Security Law art. 18"),
    )
    await _fill(hub, 6, department="SAMR")
    await _fill(hub, 4, department="MPS", start=6)
    report = await admin.call(
        admin._stubs.audit.GetSubjectReport,
        audit_pb2.GetSubjectReportRequest(subject_id=CITIZEN, page=common_pb2.PageRequest(page_size=2)),
    )
    assert [a.department for a in report.accesses] == ["SAMR", "SAMR"]
    assert report.accesses[0].log_index > report.accesses[1].log_index
    assert report.accesses[0].department_name == "Market regulation"
    assert report.accesses[0].dataset_title and report.accesses[0].officer_role == "officer"
    following = await admin.call(
        admin._stubs.audit.GetSubjectReport,
        audit_pb2.GetSubjectReportRequest(
            subject_id=CITIZEN, page=common_pb2.PageRequest(page_size=2, page_token=report.page.next_page_token)
        ),
    )
    assert [a.department for a in following.accesses] == ["SAMR"] and not following.page.next_page_token
    # Auditors still see the hidden accesses, marked as such.
    hidden = [
        e
        async for p in admin.stream(
            admin._stubs.audit.QueryEntries,
            audit_pb2.QueryEntriesRequest(filter=audit_pb2.EntryFilter(subject_id=CITIZEN, department="MPS")),
        )
        for e in p.entries
    ]
    assert len(hidden) == 2 and all(e.hidden_from_subject for e in hidden)
    # Reading someone's report is itself logged, for auditors only.
    reads = [e for e in await hub.log_entries() if e.action == "audit.subject_report.read"]
    assert len(reads) == 2 and all(e.subject_id == CITIZEN and e.hidden_from_subject for e in reads)
    change = next(e for e in await hub.log_entries() if e.action == "audit.hidden_accesses.set")
    assert change.details["target"] == "MPS" and change.details["basis"] == "State Security Law art. 18"


async def test_hiding_accesses_needs_a_legal_basis(hub: HubFixture) -> None:
    await hub.add_department("MPS")
    admin = hub.client("HUB", roles=(Role.HUB_ADMIN,))
    with pytest.raises(ExchangeError) as caught:
        await admin.call(
            admin._stubs.audit.SetHiddenAccesses,
            audit_pb2.SetHiddenAccessesRequest(department="MPS", hidden=True),
        )
    assert caught.value.reason == "LEGAL_BASIS_REQUIRED"
