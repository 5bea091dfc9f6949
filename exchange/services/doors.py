"""The gRPC edge's map: every method path of exchange.v1 to the policy operation it asks for.

A path missing here asks for no operation, which the policy refuses for everyone (default deny);
tests/integration/policy/test_every_door.py fails when a served RPC has no row.
"""

from __future__ import annotations

_P = "/exchange.v1."

RPC_OPERATIONS: dict[str, str] = {
    f"{_P}CatalogService/RegisterDataset": "catalog.dataset.register",
    f"{_P}CatalogService/GetDataset": "catalog.dataset.read",
    f"{_P}CatalogService/ListDatasets": "catalog.dataset.list",
    f"{_P}CatalogService/SearchDatasets": "catalog.dataset.search",
    f"{_P}CatalogService/ListDatasetVersions": "catalog.dataset.versions",
    f"{_P}CatalogService/SetDatasetStatus": "catalog.dataset.set_status",
    f"{_P}DepartmentService/RegisterDepartment": "departments.register",
    f"{_P}DepartmentService/GetDepartment": "departments.read",
    f"{_P}DepartmentService/ListDepartments": "departments.list",
    f"{_P}DepartmentService/AddDepartmentKey": "departments.key.add",
    f"{_P}DepartmentService/RetireDepartmentKey": "departments.key.retire",
    f"{_P}DepartmentService/SetDepartmentStatus": "departments.status.set",
    f"{_P}DepartmentService/GetDepartmentRoles": "departments.roles.read",
    f"{_P}DepartmentService/SetDepartmentRoles": "departments.roles.set",
    f"{_P}ServiceItemService/RegisterServiceItem": "items.register",
    f"{_P}ServiceItemService/GetServiceItem": "items.read",
    f"{_P}ServiceItemService/ListServiceItems": "items.list",
    f"{_P}AccessService/CreateGrant": "grants.create",
    f"{_P}AccessService/GetGrant": "grants.read",
    f"{_P}AccessService/ListGrants": "grants.list",
    f"{_P}AccessService/RevokeGrant": "grants.revoke",
    f"{_P}AccessService/CreateAccessRequest": "access_requests.create",
    f"{_P}AccessService/GetAccessRequest": "access_requests.read",
    f"{_P}AccessService/ListAccessRequests": "access_requests.list",
    f"{_P}AccessService/DecideAccessRequest": "access_requests.decide",
    f"{_P}AccessService/ExplainAccess": "authz.explain",
    f"{_P}ExchangeService/Fetch": "exchange.fetch",
    f"{_P}ExchangeService/Scan": "exchange.scan",
    f"{_P}CaseService/CreateCase": "cases.create",
    f"{_P}CaseService/GetCase": "cases.read",
    f"{_P}CaseService/ListCases": "cases.list",
    f"{_P}CaseService/TransitionCase": "cases.transition",
    f"{_P}CaseService/RecordOpinion": "cases.opinion",
    f"{_P}CaseService/AttachMaterial": "cases.material.attach",
    f"{_P}CaseService/GetMaterial": "cases.material.read",
    f"{_P}CaseService/ListMaterials": "cases.material.list",
    f"{_P}CaseService/ListOverdueCases": "cases.overdue",
    f"{_P}CaseService/GetSavings": "cases.savings",
    f"{_P}CaseService/AddCaseParty": "cases.party.add",
    f"{_P}CaseService/GetAnnotatedCopy": "cases.material.annotated_copy",
    f"{_P}AuditService/QueryEntries": "audit.entries.query",
    f"{_P}AuditService/GetEntry": "audit.entry.read",
    f"{_P}AuditService/GetCheckpoint": "audit.checkpoint.read",
    f"{_P}AuditService/GetInclusionProof": "audit.inclusion_proof.read",
    f"{_P}AuditService/GetConsistencyProof": "audit.consistency_proof.read",
    f"{_P}AuditService/GetSubjectReport": "audit.subject_report.read",
    f"{_P}AuditService/GetEvidenceBundle": "audit.evidence_bundle.read",
    f"{_P}AuditService/SetHiddenAccesses": "audit.hidden_accesses.set",
    f"{_P}NotificationService/Subscribe": "notifications.subscribe",
    f"{_P}NotificationService/SetWebhook": "notifications.webhook.set",
    f"{_P}NotificationService/GetWebhook": "notifications.webhook.read",
    f"{_P}NotificationService/DeleteWebhook": "notifications.webhook.delete",
    f"{_P}NotificationService/ListDeadLetters": "notifications.dead_letters.list",
    f"{_P}NotificationService/RedriveDeadLetters": "notifications.dead_letters.redrive",
    f"{_P}NotificationService/ListCaseFlags": "cases.flags.list",
    f"{_P}SupervisionService/GetFigures": "supervision.figures.read",
    f"{_P}SupervisionService/ListWarnings": "supervision.warnings.list",
    f"{_P}SupervisionService/ListEscalations": "supervision.escalations.list",
    f"{_P}SupervisionService/GetReport": "supervision.report.read",
    f"{_P}TicketService/OpenTicket": "tickets.open",
    f"{_P}TicketService/GetTicket": "tickets.read",
    f"{_P}TicketService/ListTickets": "tickets.list",
    f"{_P}TicketService/AnswerTicket": "tickets.answer",
}

# Asked for by an unmapped path: no row in the policy, so refused for everyone.
UNMAPPED = "rpc.unmapped"


def operation_of(method: str) -> str:
    """The operation a full gRPC method name asks for (/exchange.v1.ExchangeService/Fetch is exchange.fetch)."""
    return RPC_OPERATIONS.get(method, UNMAPPED)


def door_table_markdown() -> str:
    """The map as the Markdown docs/security.md shows (a test keeps the two equal)."""
    lines = ["| RPC | operation |", "|---|---|"]
    for method, name in RPC_OPERATIONS.items():
        service, rpc = method.removeprefix(_P).split("/")
        lines.append(f"| `{service}.{rpc}` | `{name}` |")
    return "\n".join(lines) + "\n"
