"""The console's one converter: what a request sends (query strings, HTML forms, uploaded specs) to what the
application takes, and what it answers to what a page shows.

Dataset forms' input names are the specs' field paths, so errors land next to them. A time typed in a filter
is local (the hub's time_zone) unless it carries an offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

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
from exchange import localtime
from exchange.app.audit_queries import EntryFilter
from exchange.audit.entry import AccessLogEntry
from exchange.clock import now_us
from exchange.console import charts
from exchange.console.core import form_error
from exchange.console.strings import text
from exchange.errors import FieldViolation, InvalidArgument

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


# --- the access log ------------------------------------------------------------------------------------


def _time(value: str, name: str, *, end_of_date: bool = False) -> int:
    try:
        return localtime.parse(value, name, end_of_date=end_of_date)
    except InvalidArgument:
        raise form_error(text("log.bad_time"), FieldViolation(name, text("log.time_format"))) from None


def entry_filter(query: Mapping[str, str]) -> EntryFilter:
    """The log filter a query string asks for (times are local unless they carry an offset)."""
    decision = query.get("decision", "")
    return EntryFilter(
        from_us=_time(query.get("from", ""), "from"),
        until_us=_time(query.get("to", ""), "to", end_of_date=True),
        department=query.get("department", "").strip(),
        dataset=query.get("dataset", "").strip(),
        subject_id=query.get("subject", "").strip(),
        case_id=query.get("case", "").strip(),
        decision=decision if decision in ("allow", "deny") else "",
    )


def filter_text(f: EntryFilter) -> str:
    """The filter as a query string (what an export's footer and a search's log entry record)."""
    return urlencode({k: v for k, v in vars(f).items() if v})


def hour_counts(rows: list[tuple[int, str, str, int]]) -> list[charts.HourCount]:
    """(hour, department, decision, entries) rows as the charts' bars: allowed and denied per hour and department."""
    merged: dict[tuple[int, str], list[int]] = {}
    for hour, dept, decision, n in rows:
        slot = merged.setdefault((hour, dept or "-"), [0, 0])
        slot[0 if decision == "allow" else 1] += n
    return [charts.HourCount(h, d, a, x) for (h, d), (a, x) in sorted(merged.items())]


# What a citizen reads in the report's action column, by the verb of the logged operation.
REPORT_ACTIONS = {
    "exchange.fetch": "fetched",
    "exchange.scan": "scanned",
    "cases.read": "read",
    "cases.list": "read",
    "cases.material.list": "read",
    "cases.material.read": "read",
    "cases.create": "case_opened",
    "cases.party.add": "case_party",
    "cases.material.attach": "attached",
    "cases.transition": "case_handled",
    "cases.material.annotated_copy": "annotated_copy",
}


def report_action(entry: AccessLogEntry) -> str:
    """The words of the report's action column: what was done with the person's data, or that it was refused."""
    done = text("report.action." + REPORT_ACTIONS.get(entry.action, "other"))
    return text("report.action.refused", action=done) if entry.decision == "deny" else done


# --- supervision ---------------------------------------------------------------------------------------

DEFAULT_PERIOD_DAYS = 30
DAY_US = 86_400_000_000


def period(query: Mapping[str, str]) -> tuple[int, int]:
    """The period a query asks for (local dates); the last 30 days by default."""
    try:
        until = localtime.parse(query.get("to", ""), "to", end_of_date=True) or now_us()
        since = localtime.parse(query.get("from", ""), "from") or until - DEFAULT_PERIOD_DAYS * DAY_US
    except InvalidArgument:
        raise form_error(text("log.bad_time"), FieldViolation("from", text("log.time_format"))) from None
    return since, until
