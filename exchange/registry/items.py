"""Service items: registration (every dataset and department it names must exist) and reads."""

from __future__ import annotations

import re

from catalog.model import Dataset, ServiceItem
from catalog.specs import material_violations
from exchange.auth.identity import Caller
from exchange.clock import now_us
from exchange.errors import FieldViolation, InvalidArgument, NotFound, quote
from exchange.policy import Facts, Thing, enforce
from exchange.registry.base import Registered, RegistryBase, logs_refusal
from exchange.storage import catalog_store


class ItemDesk(RegistryBase):
    """Service items: what a case of each kind needs and which departments review it."""

    # --- service items -----------------------------------------------------------------------------

    @logs_refusal("items.register")
    async def register_service_item(self, item: ServiceItem, caller: Caller) -> Registered:
        enforce(caller, "items.register", Facts(what=Thing("service_item", item.code)))
        datasets: dict[str, Dataset] = {}
        async with self.hub.db.read() as conn:
            for material in item.required_materials:
                stored = await catalog_store.get_dataset(conn, material.dataset)
                if stored is not None:
                    datasets[material.dataset] = stored.dataset
        problems = material_violations(item, datasets) + self._national_code_violations(item)
        for i, code in enumerate((item.lead_department, *item.co_reviewers)):
            if self.hub.keyring.department(code) is None:
                path = "lead_department" if i == 0 else f"co_reviewers[{i - 1}]"
                problems.append(FieldViolation(path, f"no department {quote(code)} is registered"))
        if problems:
            raise InvalidArgument(
                f"service item {item.code} refers to things the hub does not know",
                reason="INVALID_SERVICE_ITEM",
                violations=problems,
            )
        async with self.hub.db.begin() as conn:
            created = await catalog_store.put_service_item(conn, item, now_us())
        outcome = "created" if created else "updated"
        await self._log_change(caller, "items.register", item.code, f"{outcome} service item {item.name}")
        return Registered(outcome)

    def _national_code_violations(self, item: ServiceItem) -> list[FieldViolation]:
        """The national codes that do not have the format the hub's settings give."""
        problems = []
        settings = self.hub.settings
        for key, setting, label in (
            ("basic_code", "item_basic_code_pattern", "基本编码 basic code"),
            ("implementation_code", "item_implementation_code_pattern", "实施编码 implementation code"),
        ):
            value = getattr(item, key)
            pattern = getattr(settings, setting)
            if value and not re.fullmatch(pattern, value):
                problems.append(
                    FieldViolation(
                        key,
                        f"{label} {quote(value)} does not have the format {pattern} (hub setting {setting}); "
                        "copy the code from the national catalogue, or have the hub administrator change the setting",
                    )
                )
        return problems

    async def get_service_item(self, code: str) -> ServiceItem:
        async with self.hub.db.read() as conn:
            item = await catalog_store.get_service_item(conn, code)
        if item is None:
            raise NotFound(f"no service item {quote(code)} is registered", reason="SERVICE_ITEM_NOT_FOUND")
        return item
