"""The application's parts, built once and handed to every edge (the composition root is
`exchange.server.start_hub`): no edge builds a desk of its own or finds one by name."""

from __future__ import annotations

from dataclasses import dataclass

from exchange.app.audit_queries import AuditQueries
from exchange.app.case_queries import CaseQueries
from exchange.app.catalog_queries import CatalogQueries
from exchange.app.console_accounts import ConsoleAccounts
from exchange.cases.annotated_copies import AnnotatedCopyDesk
from exchange.cases.desk import CaseDesk, StatusCheck
from exchange.cases.material_desk import MaterialDesk
from exchange.cases.materials import MaterialStatus
from exchange.fetch import Fetcher
from exchange.hub import Hub
from exchange.licence_status import LicenceStatusDesk
from exchange.notifications import NotificationDesk
from exchange.registry import Registry
from exchange.supervision.desk import SupervisionDesk
from exchange.supervision.scheduler import Supervisor
from exchange.tickets import TicketDesk


def issuer_status(hub: Hub) -> StatusCheck:
    """The re-check at decision time: Provider.Status on the issuer's own adapter."""

    async def check(issuer: str, dataset: str, key: str) -> MaterialStatus:
        endpoint = hub.keyring.adapter_endpoint(issuer)
        s = await hub.adapters.document_status(issuer, endpoint, dataset=dataset, key=key)
        return MaterialStatus(s.found, s.valid, s.status_code, s.valid_until_us)

    return check


@dataclass(frozen=True)
class Application:
    """What the gRPC servicers, the console and the embedded CLI call."""

    hub: Hub
    registry: Registry
    fetcher: Fetcher
    cases: CaseDesk
    materials: MaterialDesk
    copies: AnnotatedCopyDesk
    licences: LicenceStatusDesk
    catalog: CatalogQueries
    audit: AuditQueries
    case_queries: CaseQueries
    accounts: ConsoleAccounts
    notifications: NotificationDesk
    supervisor: Supervisor
    supervision: SupervisionDesk
    tickets: TicketDesk

    @classmethod
    def build(cls, hub: Hub) -> Application:
        registry = Registry(hub)
        fetcher = Fetcher(hub, registry)
        materials = MaterialDesk(hub, registry, fetcher)
        supervision = SupervisionDesk(hub)
        return cls(
            hub=hub,
            registry=registry,
            fetcher=fetcher,
            cases=CaseDesk(hub, registry, issuer_status(hub)),
            materials=materials,
            copies=AnnotatedCopyDesk(hub, registry, materials),
            licences=LicenceStatusDesk(hub, registry),
            catalog=CatalogQueries(hub.db),
            audit=AuditQueries(hub),
            case_queries=CaseQueries(hub.db),
            accounts=ConsoleAccounts(hub),
            notifications=NotificationDesk(hub),
            supervisor=Supervisor(hub, supervision),
            supervision=supervision,
            tickets=TicketDesk(hub, registry),
        )
