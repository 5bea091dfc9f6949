"""The registry: administrative changes to departments, keys, datasets, service items, grants and access requests.

Each operation asks the policy (exchange.policy) whether its caller may make it, applies the catalog's
rules (validation, schema versioning), stores it, and writes an access-log entry through the one recorder.
`Registry` is the one object the edges and the case desks use; each part lives in its own module.
"""

from __future__ import annotations

from exchange.registry.base import Registered
from exchange.registry.departments import DepartmentDesk
from exchange.registry.explain import ExplainDesk
from exchange.registry.items import ItemDesk
from exchange.registry.requests import AccessRequestDesk


class Registry(DepartmentDesk, ItemDesk, AccessRequestDesk, ExplainDesk):
    """Departments, datasets, service items, grants, access requests and explained decisions."""


__all__ = ["Registered", "Registry"]
