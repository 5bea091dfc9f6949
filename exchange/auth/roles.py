"""Who may call which RPC: the role table (docs/security.md shows the same table).

A method missing from the table is refused for everyone (default deny). Finer rules,
such as a department admin acting only on its own department's datasets, are checked
by the domain operation itself.
"""

from __future__ import annotations

from exchange.auth.identity import Role

OFFICER = frozenset({Role.OFFICER})
ADMINS = frozenset({Role.HUB_ADMIN, Role.DEPT_ADMIN})
HUB_ADMIN = frozenset({Role.HUB_ADMIN})
AUDIT = frozenset({Role.AUDITOR, Role.HUB_ADMIN})
EVERYONE = frozenset(Role)
# 电子监察: read-only, metadata and figures only (never a document's contents).
SUPERVISION = frozenset({Role.SUPERVISOR, Role.HUB_ADMIN, Role.AUDITOR})
SUPERVISOR = frozenset({Role.SUPERVISOR})

_P = "/exchange.v1."

RPC_ROLES: dict[str, frozenset[Role]] = {
    # Catalog: everyone may read it; admins change it (dept admins only their own datasets).
    f"{_P}CatalogService/RegisterDataset": ADMINS,
    f"{_P}CatalogService/GetDataset": EVERYONE,
    f"{_P}CatalogService/ListDatasets": EVERYONE,
    f"{_P}CatalogService/SearchDatasets": EVERYONE,
    f"{_P}CatalogService/ListDatasetVersions": EVERYONE,
    f"{_P}CatalogService/SetDatasetStatus": ADMINS,
    # Departments: hub admins register them; a dept admin rotates its own keys.
    f"{_P}DepartmentService/RegisterDepartment": HUB_ADMIN,
    f"{_P}DepartmentService/GetDepartment": EVERYONE,
    f"{_P}DepartmentService/ListDepartments": EVERYONE,
    f"{_P}DepartmentService/AddDepartmentKey": ADMINS,
    f"{_P}DepartmentService/RetireDepartmentKey": ADMINS,
    f"{_P}DepartmentService/SetDepartmentStatus": HUB_ADMIN,
    # Held roles: only hub admins change them; a dept admin reads its own department's.
    f"{_P}DepartmentService/GetDepartmentRoles": ADMINS | AUDIT,
    f"{_P}DepartmentService/SetDepartmentRoles": HUB_ADMIN,
    # Service items.
    f"{_P}ServiceItemService/RegisterServiceItem": HUB_ADMIN,
    f"{_P}ServiceItemService/GetServiceItem": EVERYONE,
    f"{_P}ServiceItemService/ListServiceItems": EVERYONE,
    # Grants and access requests.
    f"{_P}AccessService/CreateGrant": ADMINS,
    f"{_P}AccessService/GetGrant": ADMINS | AUDIT,
    f"{_P}AccessService/ListGrants": ADMINS | AUDIT,
    f"{_P}AccessService/RevokeGrant": ADMINS,
    f"{_P}AccessService/CreateAccessRequest": ADMINS,
    f"{_P}AccessService/GetAccessRequest": ADMINS | AUDIT,
    f"{_P}AccessService/ListAccessRequests": ADMINS | AUDIT,
    f"{_P}AccessService/DecideAccessRequest": ADMINS,
    f"{_P}AccessService/ExplainAccess": ADMINS | AUDIT | OFFICER,
    # The exchange: officers only.
    f"{_P}ExchangeService/Fetch": OFFICER,
    f"{_P}ExchangeService/Scan": OFFICER,
    # Cases: officers work them; auditors read their metadata.
    f"{_P}CaseService/CreateCase": OFFICER,
    f"{_P}CaseService/GetCase": OFFICER | AUDIT | SUPERVISOR,
    f"{_P}CaseService/ListCases": OFFICER | AUDIT | SUPERVISOR,
    f"{_P}CaseService/TransitionCase": OFFICER,
    f"{_P}CaseService/RecordOpinion": OFFICER,
    f"{_P}CaseService/AttachMaterial": OFFICER,
    f"{_P}CaseService/GetMaterial": OFFICER,
    f"{_P}CaseService/ListMaterials": OFFICER | AUDIT,
    f"{_P}CaseService/ListOverdueCases": OFFICER | AUDIT | ADMINS | SUPERVISOR,
    f"{_P}CaseService/GetSavings": EVERYONE,
    f"{_P}CaseService/AddCaseParty": OFFICER,
    # The annotated copy shows document contents: officers of the case's departments, never auditors.
    f"{_P}CaseService/GetAnnotatedCopy": OFFICER,
    # The access log: auditors (metadata only, never document contents).
    f"{_P}AuditService/QueryEntries": AUDIT,
    f"{_P}AuditService/GetEntry": AUDIT,
    f"{_P}AuditService/GetCheckpoint": EVERYONE,
    f"{_P}AuditService/GetInclusionProof": EVERYONE,
    f"{_P}AuditService/GetConsistencyProof": EVERYONE,
    f"{_P}AuditService/GetSubjectReport": AUDIT,
    f"{_P}AuditService/GetEvidenceBundle": EVERYONE,
    f"{_P}AuditService/SetHiddenAccesses": HUB_ADMIN,
    # Each department's own events only (checked by the notification desk).
    f"{_P}NotificationService/Subscribe": OFFICER | ADMINS,
    f"{_P}NotificationService/SetWebhook": ADMINS,
    f"{_P}NotificationService/GetWebhook": ADMINS,
    f"{_P}NotificationService/DeleteWebhook": ADMINS,
    f"{_P}NotificationService/ListDeadLetters": ADMINS,
    f"{_P}NotificationService/RedriveDeadLetters": ADMINS,
    f"{_P}NotificationService/ListCaseFlags": OFFICER | ADMINS | AUDIT,
    # Supervision (电子监察): supervisors, hub admins and auditors read it; nobody changes it over gRPC.
    f"{_P}SupervisionService/GetFigures": SUPERVISION,
    f"{_P}SupervisionService/ListWarnings": SUPERVISION,
    f"{_P}SupervisionService/ListEscalations": SUPERVISION,
    f"{_P}SupervisionService/GetReport": SUPERVISION,
}


def allowed_roles(method: str) -> frozenset[Role]:
    """The roles that may call `method` (full gRPC name); empty means nobody."""
    return RPC_ROLES.get(method, frozenset())


def role_table_markdown() -> str:
    """The role table as the Markdown docs/security.md shows (a test keeps the two equal)."""
    order = (Role.OFFICER, Role.DEPT_ADMIN, Role.HUB_ADMIN, Role.AUDITOR, Role.SUPERVISOR)
    lines = ["| RPC | " + " | ".join(r.value for r in order) + " |", "|---|" + "---|" * len(order)]
    for method, roles in RPC_ROLES.items():
        service, name = method.removeprefix(_P).split("/")
        marks = " | ".join("yes" if role in roles else "" for role in order)
        lines.append(f"| `{service}.{name}` | {marks} |")
    return "\n".join(lines) + "\n"
