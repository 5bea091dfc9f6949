"""Schema changes between two versions of a dataset, and the version a change must carry."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.model import Dataset
from exchange.errors import FailedPrecondition, InvalidArgument

COMPATIBLE_KINDS = ("added_optional", "made_optional", "sensitivity_changed")
BREAKING_KINDS = ("added_required", "removed", "retyped", "made_required", "key_changed")


@dataclass(frozen=True)
class SchemaChange:
    """One difference between two schemas of a dataset, on one field."""

    kind: str
    field: str
    detail: str

    @property
    def breaking(self) -> bool:
        """Return whether consumers of the old schema can break on this change."""
        return self.kind in BREAKING_KINDS


def diff_schemas(old: Dataset, new: Dataset) -> list[SchemaChange]:
    """Return every schema change from old to new: removals and changes in old order, then additions."""
    changes: list[SchemaChange] = []
    if old.key_field != new.key_field or old.key_format != new.key_format:
        changes.append(
            SchemaChange(
                "key_changed",
                new.key_field,
                f"key {old.key_field} ({old.key_format.value}) became {new.key_field} ({new.key_format.value})",
            )
        )
    for before in old.schema.fields:
        if not new.schema.has_field(before.name):
            changes.append(SchemaChange("removed", before.name, f"field {before.name} was removed"))
            continue
        after = new.schema.field(before.name)
        if before.arrow_type != after.arrow_type:
            changes.append(SchemaChange("retyped", before.name, f"type {before.type_text} became {after.type_text}"))
        if before.required != after.required:
            kind = "made_required" if after.required else "made_optional"
            changes.append(SchemaChange(kind, before.name, kind.replace("_", " ")))
        if before.sensitivity != after.sensitivity:
            changes.append(
                SchemaChange(
                    "sensitivity_changed",
                    before.name,
                    f"sensitivity {before.sensitivity.value} became {after.sensitivity.value}",
                )
            )
    for after in new.schema.fields:
        if not old.schema.has_field(after.name):
            kind = "added_required" if after.required else "added_optional"
            changes.append(SchemaChange(kind, after.name, f"field {after.name} ({after.type_text}) was added"))
    return changes


def _parts(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def resolve_version(old: Dataset, new: Dataset) -> str:
    """Return the version to store new under, or refuse a breaking change that is not a new major."""
    old_v, new_v = _parts(old.version), _parts(new.version)
    if new_v < old_v:
        raise InvalidArgument(
            f"dataset {new.code}: version {new.version} is lower than the current {old.version}",
            reason="VERSION_REGRESSION",
        )
    changes = diff_schemas(old, new)
    breaking = [c for c in changes if c.breaking]
    if breaking:
        if new_v[0] > old_v[0]:
            return f"{new_v[0]}.{new_v[1]}"
        listed = "; ".join(f"{c.field}: {c.kind} ({c.detail})" for c in breaking)
        raise FailedPrecondition(
            f"dataset {new.code}: breaking schema change(s) in version {old.version}: {listed}. "
            f'Register it as version "{old_v[0] + 1}.0" so existing consumers keep the old contract.',
            reason="BREAKING_SCHEMA_CHANGE",
            metadata={"fields": ",".join(c.field for c in breaking), "required_version": f"{old_v[0] + 1}.0"},
        )
    if not changes:
        # Metadata-only updates (title, keywords, ...) keep the version consumers already know.
        return old.version
    if new_v[0] > old_v[0]:
        return f"{new_v[0]}.{new_v[1]}"
    return f"{old_v[0]}.{old_v[1] + 1}"
