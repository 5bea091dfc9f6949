"""The hub's in-memory view of departments, their keys and held roles, reloaded when the registry changes.

Token verification, the held-roles check and issuer-signature checks run on every request,
so they read dicts here instead of the database. Every registry change reloads it on the replica
that made the change, and a background task reloads it every few seconds so other
replicas follow.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from catalog.model import Dataset, Department, KeyStatus, KeyUse
from exchange.auth.held_roles import DepartmentRoles, RoleSet, department_roles, held_by
from exchange.auth.identity import Role
from exchange.auth.keys import algorithm_for, load_public_key
from exchange.auth.tokens import TrustedKey
from exchange.storage import Database, catalog_store, role_store


class KeyRing:
    def __init__(self, hub_department: str = "HUB") -> None:
        self.hub_department = hub_department
        self.departments: dict[str, Department] = {}
        self._roles: dict[str, DepartmentRoles] = {}
        self._token_keys: dict[tuple[str, str], TrustedKey] = {}
        self._signing_keys: dict[tuple[str, str], Ed25519PublicKey] = {}
        # When each retired signing key was retired: documents signed later with it are refused.
        self._retired_at: dict[tuple[str, str], int] = {}
        self.generation = 0

    async def load(self, db: Database) -> None:
        async with db.read() as conn:
            departments = await catalog_store.list_departments(conn, limit=100_000)
            stored_keys = await catalog_store.list_keys(conn)
            role_sets = await role_store.list_role_sets(conn)
        token_keys: dict[tuple[str, str], TrustedKey] = {}
        signing_keys: dict[tuple[str, str], Ed25519PublicKey] = {}
        for dept in departments:
            for key in dept.keys:
                public = load_public_key(key.public_key_pem)
                if key.use == KeyUse.TOKEN:
                    # A suspended department's keys stay valid here; `Hub.authenticate` refuses it by status.
                    active = key.status == KeyStatus.ACTIVE
                    token_keys[(dept.code, key.kid)] = TrustedKey(
                        dept.code, key.kid, algorithm_for(public), public, active
                    )
                elif isinstance(public, Ed25519PublicKey):
                    # Retired signing keys still verify documents signed while they were active.
                    signing_keys[(dept.code, key.kid)] = public
        self.departments = {d.code: d for d in departments}
        by_department: dict[str, list[RoleSet]] = {}
        for role_set in role_sets:
            by_department.setdefault(role_set.department, []).append(role_set)
        self._roles = {
            d.code: department_roles(d.code, by_department.get(d.code, ()), self.hub_department) for d in departments
        }
        self._token_keys = token_keys
        self._signing_keys = signing_keys
        self._retired_at = {(k.department, k.key.kid): k.retired_at_us for k in stored_keys if k.retired_at_us}
        self.generation += 1

    def token_key(self, department: str, kid: str) -> TrustedKey | None:
        return self._token_keys.get((department, kid))

    def signing_key(self, issuer: str, kid: str) -> Ed25519PublicKey | None:
        return self._signing_keys.get((issuer, kid))

    def retired_at(self, issuer: str, kid: str) -> int:
        """When a signing key was retired (microseconds), 0 while it is active."""
        return self._retired_at.get((issuer, kid), 0)

    def department(self, code: str) -> Department | None:
        return self.departments.get(code)

    def adapter_endpoint(self, code: str) -> str:
        """Where the adapter of department `code` listens ('' when unregistered or unset: the default)."""
        found = self.departments.get(code)
        return found.adapter_endpoint or "" if found else ""

    def department_roles(self, code: str) -> DepartmentRoles:
        """What `code` holds as of the last load (the default set for a department loaded since)."""
        found = self._roles.get(code)
        return found if found is not None else department_roles(code, (), self.hub_department)

    def held_roles(self, department: str, officer_id: str) -> frozenset[Role]:
        """The roles an officer of `department` may put in a token."""
        return held_by(self.department_roles(department), officer_id)


class CurrentDatasets:
    """The current version of each dataset fetches named, kept between fetches.

    Emptied at once when this replica changes the catalog, and with every keyring reload,
    so a change made on another replica is seen within `KEYRING_RELOAD_SECONDS`. Grants and
    cases are never kept here: they are read from the database on every request.
    """

    def __init__(self) -> None:
        self._datasets: dict[str, Dataset] = {}
        # Bumped by `clear`: a dataset read before a clear must not be stored after it.
        self.generation = 0

    def get(self, code: str) -> Dataset | None:
        return self._datasets.get(code)

    def put(self, ds: Dataset, generation: int) -> None:
        if generation == self.generation:
            self._datasets[ds.code] = ds

    def clear(self) -> None:
        self._datasets.clear()
        self.generation += 1
