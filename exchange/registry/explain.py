"""Explained decisions: the fetch rule applied to an imagined officer's request, logged, nothing fetched."""

from __future__ import annotations

from exchange.app import grant_records
from exchange.auth.identity import Caller, Role
from exchange.clock import now_us
from exchange.errors import NotFound, quote
from exchange.policy import Decision, Facts, Thing, decide_fetch, enforce
from exchange.registry.base import logs_refusal
from exchange.registry.datasets import DatasetDesk


class ExplainDesk(DatasetDesk):
    """Would a fetch be allowed now, and why: the fetch rule on the stored facts, fetching nothing."""

    # --- explained decisions -------------------------------------------------------------------------

    @logs_refusal("authz.explain")
    async def explain_access(
        self, caller: Caller, *, department: str, dataset: str, case_id: str, service_item: str, fields: tuple[str, ...]
    ) -> Decision:
        """Would an officer of `department` be allowed this fetch now, and why? Reads facts, fetches nothing."""
        enforce(caller, "authz.explain", Facts(department=department, what=Thing("access_of", department)))
        if self.hub.keyring.department(department) is None:
            raise NotFound(f"no department {quote(department)} is registered", reason="DEPARTMENT_NOT_FOUND")
        ds = await self.get_dataset(dataset)
        officer = Caller(department, "(explain)", frozenset({Role.OFFICER}), "", 0)
        async with self.hub.db.read() as conn:
            facts = await grant_records.fetch_facts(
                conn,
                officer,
                ds,
                case_id=case_id,
                service_item=service_item,
                fields=fields,
                now_us=now_us(),
                subject=None,  # no key is asked about: the subject rule is left to the fetch itself
            )
        decision = decide_fetch(facts)
        await self._log_change(
            caller,
            "authz.explain",
            f"{department}/{dataset}/{case_id}",
            f"would be {'allowed' if decision.allowed else 'denied: ' + decision.reason}",
            dataset=dataset,
        )
        return decision
