"""GetEvidenceBundle is for auditors, hub admins and the parties to that entry; every answer is logged.

An evidence bundle carries the entry's full metadata (who read whose data, for which case), so handing any
entry to any officer would let every department walk the whole log.
"""

from __future__ import annotations

import grpc
import pytest

from exchange.audit.bundle import EvidenceBundle
from exchange.auth.identity import Role
from exchange.errors import ExchangeError
from exchange.testing import HUB_OPERATOR, HubFixture
from exchange.v1 import audit_pb2

from .logsetup import CITIZEN, fill


async def _setup(hub: HubFixture) -> int:
    """The index of an entry written by SAMR about CITIZEN, dataset identity_record (owned by PSB)."""
    for code in ("SAMR", "PSB", "FIRE"):
        await hub.add_department(code)
    await hub.register_example_dataset("identity_record")
    await fill(hub, 5)
    await hub.hub.access_log.sign_checkpoint()
    entries = await hub.log_entries()
    return next(e.index for e in entries if e.action == "exchange.fetch" and e.subject_id == CITIZEN)


async def _bundle(hub: HubFixture, department: str, index: int, roles=(Role.OFFICER,)) -> str:
    client = hub.client(department, roles=roles)
    answer = await client.call(client._stubs.audit.GetEvidenceBundle, audit_pb2.GetEvidenceBundleRequest(index=index))
    return answer.bundle


async def test_a_department_that_is_no_party_to_the_entry_is_refused_and_the_attempt_logged(
    any_backend_hub: HubFixture,
) -> None:
    hub = any_backend_hub
    index = await _setup(hub)
    with pytest.raises(ExchangeError) as refused:
        await _bundle(hub, "FIRE", index)
    assert refused.value.grpc_code == grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.reason == "NOT_PARTY_TO_ENTRY"
    assert CITIZEN not in refused.value.message
    last = (await hub.log_entries())[-1]
    assert (last.action, last.decision, last.reason) == ("audit.evidence_bundle.read", "deny", "NOT_PARTY_TO_ENTRY")
    assert (last.caller_department, last.subject_id) == ("FIRE", CITIZEN)
    assert last.details.get("index") == str(index)


@pytest.mark.parametrize(
    ("department", "roles"),
    [
        ("SAMR", (Role.OFFICER,)),  # the department that made the access
        ("PSB", (Role.OFFICER,)),  # the department whose data it was
        (HUB_OPERATOR, (Role.AUDITOR,)),
        (HUB_OPERATOR, (Role.HUB_ADMIN,)),
    ],
)
async def test_parties_auditors_and_hub_admins_get_the_bundle_and_the_read_is_logged(
    hub: HubFixture, department: str, roles: tuple[Role, ...]
) -> None:
    index = await _setup(hub)
    bundle = await _bundle(hub, department, index, roles)
    assert EvidenceBundle.from_text(bundle).index == index
    last = (await hub.log_entries())[-1]
    assert (last.action, last.decision, last.caller_department) == ("audit.evidence_bundle.read", "allow", department)
    assert last.subject_id == CITIZEN and last.details.get("index") == str(index)


async def test_an_unknown_entry_is_not_found_for_everyone(hub: HubFixture) -> None:
    await _setup(hub)
    client = hub.client("FIRE")
    with pytest.raises(ExchangeError) as refused:
        await client.call(client._stubs.audit.GetEvidenceBundle, audit_pb2.GetEvidenceBundleRequest(index=10_000))
    assert refused.value.grpc_code == grpc.StatusCode.NOT_FOUND
