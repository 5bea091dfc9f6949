"""The role table walked through a real hub: every RPC, every role, refused exactly when the table says so."""

from __future__ import annotations

import grpc

from exchange.auth.identity import Role
from exchange.auth.roles import RPC_ROLES, role_table_markdown
from exchange.testing import ROOT, HubFixture

from .rpc_walk import call_raw, filled_request, hub_methods, path_of


def test_every_rpc_of_every_hub_service_has_a_row_and_every_row_an_rpc() -> None:
    served = {path_of(m) for m in hub_methods()}
    assert served - set(RPC_ROLES) == set(), "RPCs without a row in exchange/auth/roles.py (default deny)"
    assert set(RPC_ROLES) - served == set(), "rows for RPCs that no longer exist"


def test_security_doc_shows_the_same_table() -> None:
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert role_table_markdown() in doc, "paste the output of `exchange authz roles` into docs/security.md"


async def test_each_role_is_refused_exactly_where_the_table_says(hub: HubFixture) -> None:
    methods = hub_methods()
    unserved: set[str] = set()
    refusals = 0
    for role in Role:
        client = hub.client("HUB", officer=f"walker-{role.value}", roles=(role,))
        for method in methods:
            outcome = await call_raw(client.channel, method, filled_request(method, {}), client.metadata())
            path = path_of(method)
            if outcome.code == grpc.StatusCode.UNIMPLEMENTED:
                unserved.add(method.containing_service.full_name)
                continue
            refused = outcome.code == grpc.StatusCode.PERMISSION_DENIED and outcome.reason == "ROLE_NOT_ALLOWED"
            assert refused == (role not in RPC_ROLES[path]), f"{path} as {role.value}: {outcome.code} {outcome.reason}"
            assert outcome.code != grpc.StatusCode.UNAUTHENTICATED, f"{path}: {outcome.details}"
            assert outcome.reason != "ROLE_NOT_HELD", f"{path}: the hub's department holds every role"
            if refused:
                refusals += 1
                assert role.value in outcome.details and "needs one of the roles" in outcome.details
    assert refusals > 0
    logged = [e for e in await hub.log_entries() if e.reason == "ROLE_NOT_ALLOWED"]
    assert len(logged) == refusals and all(e.decision == "deny" for e in logged)
    assert not unserved, f"services in exchange.v1 that the hub does not serve: {sorted(unserved)}"
