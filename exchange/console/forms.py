"""HTML forms to and from catalog specs; input names are the specs' field paths, so errors land next to them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.identifiers import KeyFormat
from catalog.model import (
    AdminLevel,
    DatasetKind,
    DatasetStatus,
    OpenAttribute,
    SharingMethod,
    SharingType,
    UpdateFrequency,
)
from catalog.schema import Sensitivity

# Text inputs of the dataset form, in the order shown; optional ones are left out of the spec when empty.
DATASET_TEXT = ("code", "title", "description", "key_field", "legal_basis", "version", "theme")
DATASET_OPTIONAL = ("description", "legal_basis", "version", "theme", "subject_field", "validity_field", "status_field")
DATASET_CHOICES: dict[str, tuple[str, ...]] = {
    "kind": tuple(k.value for k in DatasetKind),
    "key_format": tuple(k.value for k in KeyFormat),
    "sharing_type": tuple(k.value for k in SharingType),
    "update_frequency": tuple(k.value for k in UpdateFrequency),
    "status": tuple(k.value for k in DatasetStatus),
}
# The resource-catalogue fields (资源目录): optional, left out of the spec when empty; the classification's
# levels are typed as one line, separated by "/".
CATALOGUE_TEXT = ("resource_code", "provider_code", "sharing_conditions", "publication_date")
CATALOGUE_CHOICES: dict[str, tuple[str, ...]] = {
    "sharing_method": tuple(m.value for m in SharingMethod),
    "open_attribute": tuple(a.value for a in OpenAttribute),
}
SENSITIVITIES = tuple(s.value for s in Sensitivity)
LEVELS = tuple(level.value for level in AdminLevel)
FIELD_KEYS = ("name", "type", "sensitivity", "description")
BLANK_ROWS = 1  # one empty row to type into; "add a field" adds more


def dataset_spec_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The dataset spec a form describes; blank schema rows are dropped and the rest renumbered."""
    spec: dict[str, Any] = {}
    for name in (*DATASET_TEXT, "owner", *DATASET_CHOICES, "subject_field", "validity_field", "status_field"):
        value = str(form.get(name, "")).strip()
        if value or name not in DATASET_OPTIONAL:
            spec[name] = value
    keywords = [w.strip() for w in str(form.get("keywords", "")).split(",") if w.strip()]
    if keywords:
        spec["keywords"] = keywords
    for name in (*CATALOGUE_TEXT, *CATALOGUE_CHOICES):
        value = str(form.get(name, "")).strip()
        if value:
            spec[name] = value
    classification = [level.strip() for level in str(form.get("classification", "")).split("/") if level.strip()]
    if classification:
        spec["classification"] = classification
    rows = []
    i = 0
    while f"schema.fields[{i}].name" in form:
        row: dict[str, Any] = {key: str(form.get(f"schema.fields[{i}].{key}", "")).strip() for key in FIELD_KEYS}
        if row["name"] or row["type"]:
            row["required"] = form.get(f"schema.fields[{i}].required") == "on"
            if not row["description"]:
                del row["description"]
            rows.append(row)
        i += 1
    spec["schema"] = {"fields": rows}
    return spec


def blank_rows_in(form: Mapping[str, Any]) -> int:
    """How many schema rows of a submitted form were left empty (kept when the person asks for one more)."""
    rows = 0
    while f"schema.fields[{rows}].name" in form:
        rows += 1
    return rows - len(dataset_spec_from_form(form)["schema"]["fields"])


def dataset_form_values(spec: Mapping[str, Any], *, blank_rows: int = BLANK_ROWS) -> dict[str, Any]:
    """What the form's inputs show for a spec (a stored dataset's dict form, or what was submitted)."""
    values: dict[str, Any] = {name: str(spec.get(name) or "") for name in (*DATASET_TEXT, "owner", *DATASET_CHOICES)}
    for name in ("subject_field", "validity_field", "status_field"):
        values[name] = str(spec.get(name) or "")
    values["keywords"] = ", ".join(str(k) for k in spec.get("keywords") or ())
    for name in (*CATALOGUE_TEXT, *CATALOGUE_CHOICES):
        values[name] = str(spec.get(name) or "")
    values["classification"] = " / ".join(str(level) for level in spec.get("classification") or ())
    schema = spec.get("schema") or {}
    rows = [dict(row) for row in (schema.get("fields") or []) if isinstance(row, Mapping)]
    blank = {"name": "", "type": "", "sensitivity": "internal", "description": "", "required": False}
    values["fields"] = [{**blank, **row} for row in rows] + [dict(blank) for _ in range(blank_rows)]
    return values


def blank_dataset(owner: str) -> dict[str, Any]:
    return dataset_form_values(
        {
            "owner": owner,
            "kind": "record",
            "key_format": "free_text",
            "sharing_type": "unconditional",
            "update_frequency": "daily",
            "status": "draft",  # published is a decision, taken by editing once the entry is right
            "version": "1.0",
        }
    )
