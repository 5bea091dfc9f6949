"""Catalog entries from and to their YAML/JSON-shaped dict form: datasets, departments, service items, tagged specs.

Every parse reads with the one `SpecReader` and raises InvalidArgument listing every problem at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa

from catalog.identifiers import KeyFormat
from catalog.limits import check_text_tree
from catalog.model import (
    CLASSIFICATION_LEVELS,
    DATASET_CODE,
    DEPARTMENT_CODE,
    ENDPOINT,
    KEY_ALGORITHMS,
    NATIONAL_CODE,
    REGION_CODE,
    RESOURCE_CODE,
    SERVICE_ITEM_CODE,
    VERSION,
    AdminLevel,
    Dataset,
    DatasetKind,
    DatasetStatus,
    Department,
    DepartmentKey,
    DepartmentStatus,
    KeyStatus,
    KeyUse,
    OpenAttribute,
    RequiredMaterial,
    ServiceItem,
    SharingMethod,
    SharingType,
    UpdateFrequency,
)
from catalog.schema import FIELD_NAME, DatasetSchema, collect_schema, schema_to_list
from catalog.spec_reader import MISSING, SpecReader, raise_if_any
from exchange.errors import FieldViolation, InvalidArgument, quote

# --- datasets ---------------------------------------------------------------------------------------

_DATASET_KEYS = (
    "code",
    "title",
    "description",
    "owner",
    "kind",
    "key_field",
    "key_format",
    "schema",
    "sharing_type",
    "legal_basis",
    "update_frequency",
    "version",
    "status",
    "subject_field",
    "validity_field",
    "status_field",
    "theme",
    "keywords",
    "resource_code",
    "classification",
    "provider_code",
    "sharing_conditions",
    "sharing_method",
    "open_attribute",
    "publication_date",
)


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _is_moment(t: pa.DataType) -> bool:
    return bool(pa.types.is_date32(t) or pa.types.is_timestamp(t))


def parse_dataset(data: Mapping[str, Any]) -> Dataset:
    """Parse a dataset from its dict form, or raise InvalidArgument(INVALID_DATASET) listing every problem."""
    check_text_tree(data)
    out: list[FieldViolation] = []
    r = SpecReader(data, "", _DATASET_KEYS, out)
    code = r.text("code", pattern=DATASET_CODE)
    title = r.text("title")
    description = r.text("description", required=False) or ""
    owner = r.text("owner", pattern=DEPARTMENT_CODE)
    kind = r.enum("kind", DatasetKind)
    key_field = r.text("key_field")
    key_format = r.enum("key_format", KeyFormat)
    sharing_type = r.enum("sharing_type", SharingType)
    legal_basis = r.text("legal_basis", required=False) or ""
    update_frequency = r.enum("update_frequency", UpdateFrequency)
    version = r.text("version", required=False, pattern=VERSION) or "1.0"
    status = r.enum("status", DatasetStatus, DatasetStatus.PUBLISHED)
    subject_field = r.text("subject_field", required=False)
    validity_field = r.text("validity_field", required=False)
    status_field = r.text("status_field", required=False)
    theme = r.text("theme", required=False) or ""
    keywords = r.strings("keywords")
    resource_code = r.text("resource_code", required=False, pattern=RESOURCE_CODE) or ""
    classification = r.strings("classification")
    if len(classification) > len(CLASSIFICATION_LEVELS):
        r.problem(
            "classification",
            f"at most {len(CLASSIFICATION_LEVELS)} levels ({' / '.join(CLASSIFICATION_LEVELS)}, 类 / 项 / 目 / 细目), "
            f"found {len(classification)}",
        )
    for i, level in enumerate(classification):
        if not level.strip():
            r.problem(f"classification[{i}]", "a level's name cannot be empty; leave out the levels you do not use")
    provider_code = r.text("provider_code", required=False, pattern=NATIONAL_CODE) or ""
    sharing_conditions = r.text("sharing_conditions", required=False) or ""
    sharing_method = r.optional_enum("sharing_method", SharingMethod)
    open_attribute = r.optional_enum("open_attribute", OpenAttribute)
    publication_date = _iso_date(r, "publication_date")
    if sharing_conditions and sharing_type is not None and sharing_type is not SharingType.CONDITIONAL:
        r.problem(
            "sharing_conditions",
            f"sharing conditions apply only to conditional sharing, but sharing_type is {sharing_type.value}: "
            "remove them or make the entry conditional",
        )
    if sharing_type is SharingType.NOT_SHARED and open_attribute not in (None, OpenAttribute.NOT_OPEN):
        r.problem(
            "open_attribute",
            f"an entry that is not shared between departments cannot be {open_attribute.value} to the public: "
            "use not_open, or change sharing_type",
        )

    schema: DatasetSchema | None = None
    schema_data = r.raw("schema", True)
    if schema_data is not MISSING:
        sr = SpecReader(schema_data, "schema", ("fields",), out)
        fields = sr.raw("fields", True)
        if fields is not MISSING:
            schema, problems = collect_schema(fields, "schema.fields")
            out.extend(problems)

    if sharing_type in (SharingType.CONDITIONAL, SharingType.NOT_SHARED) and not legal_basis.strip():
        r.problem("legal_basis", f"required when sharing_type is {sharing_type.value}: cite the law or decision")
    if schema is not None:
        if key_field is not None:
            if not schema.has_field(key_field):
                r.problem("key_field", f"{quote(key_field)} is not a field of the schema ({', '.join(schema.names)})")
            elif not schema.field(key_field).required:
                r.problem("key_field", f"{quote(key_field)} must be a required field of the schema")
        for name, value, accepts, wanted in (
            ("key_field", key_field, _is_text, "a string"),
            ("subject_field", subject_field, _is_text, "a string"),
            ("validity_field", validity_field, _is_moment, "a date32 or timestamp"),
            ("status_field", status_field, _is_text, "a string"),
        ):
            if value is None or (name == "key_field" and not schema.has_field(value)):
                continue
            if not schema.has_field(value):
                r.problem(name, f"{quote(value)} is not a field of the schema ({', '.join(schema.names)})")
            elif not accepts(schema.field(value).arrow_type):
                found = schema.field(value).type_text
                r.problem(name, f"field {quote(value)} must be {wanted}, found {found}")
    raise_if_any(out, "dataset", "INVALID_DATASET", code)
    assert code and title and owner and kind and key_field and key_format and schema
    assert sharing_type and update_frequency and status
    if subject_field is None and key_format in (KeyFormat.RESIDENT_ID, KeyFormat.USCC):
        # The key names whose data it is, so the citizen access report can find it without extra config.
        subject_field = key_field
    return Dataset(
        code=code,
        title=title,
        description=description,
        owner=owner,
        kind=kind,
        key_field=key_field,
        key_format=key_format,
        schema=schema,
        sharing_type=sharing_type,
        legal_basis=legal_basis,
        update_frequency=update_frequency,
        version=version,
        status=status,
        subject_field=subject_field,
        validity_field=validity_field,
        status_field=status_field,
        theme=theme,
        keywords=keywords,
        resource_code=resource_code,
        classification=classification,
        provider_code=provider_code,
        sharing_conditions=sharing_conditions,
        sharing_method=sharing_method,
        open_attribute=open_attribute,
        publication_date=publication_date,
    )


def _iso_date(r: SpecReader, key: str) -> str:
    """An ISO 8601 date (YAML's unquoted 2026-01-15 too) as text, or a problem; empty when not given."""
    found = r.day(key)
    return "" if found is None else found.isoformat()


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def dataset_to_dict(ds: Dataset) -> dict[str, Any]:
    """Return the dict form of a dataset; parse_dataset reads it back to an equal Dataset."""
    return _drop_none(
        {
            "code": ds.code,
            "title": ds.title,
            "description": ds.description,
            "owner": ds.owner,
            "kind": ds.kind.value,
            "key_field": ds.key_field,
            "key_format": ds.key_format.value,
            "schema": {"fields": schema_to_list(ds.schema)},
            "sharing_type": ds.sharing_type.value,
            "legal_basis": ds.legal_basis,
            "update_frequency": ds.update_frequency.value,
            "version": ds.version,
            "status": ds.status.value,
            "subject_field": ds.subject_field,
            "validity_field": ds.validity_field,
            "status_field": ds.status_field,
            "theme": ds.theme,
            "keywords": list(ds.keywords),
            "resource_code": ds.resource_code or None,
            "classification": list(ds.classification) or None,
            "provider_code": ds.provider_code or None,
            "sharing_conditions": ds.sharing_conditions or None,
            "sharing_method": ds.sharing_method.value if ds.sharing_method else None,
            "open_attribute": ds.open_attribute.value if ds.open_attribute else None,
            "publication_date": ds.publication_date or None,
        }
    )


# --- departments ------------------------------------------------------------------------------------

_DEPARTMENT_KEYS = ("code", "name", "name_en", "level", "region_code", "status", "adapter_endpoint", "keys")
_KEY_KEYS = ("kid", "use", "algorithm", "public_key_pem", "status")


def _parse_key(data: Any, path: str, out: list[FieldViolation]) -> DepartmentKey | None:
    before = len(out)
    r = SpecReader(data, path, _KEY_KEYS, out)
    kid = r.text("kid")
    use = r.enum("use", KeyUse)
    algorithm = r.text("algorithm")
    if algorithm is not None and algorithm not in KEY_ALGORITHMS:
        r.problem("algorithm", f"unknown algorithm {quote(algorithm)}; allowed: {', '.join(KEY_ALGORITHMS)}")
    pem = r.text("public_key_pem")
    if pem is not None and "-----BEGIN PUBLIC KEY-----" not in pem:
        r.problem("public_key_pem", "expected a PEM public key (-----BEGIN PUBLIC KEY-----)")
    status = r.enum("status", KeyStatus, KeyStatus.ACTIVE)
    if len(out) > before or not (kid and use and algorithm and pem and status):
        return None
    return DepartmentKey(kid=kid, use=use, algorithm=algorithm, public_key_pem=pem, status=status)


def parse_department(data: Mapping[str, Any]) -> Department:
    """Parse a department from its dict form, or raise InvalidArgument(INVALID_DEPARTMENT)."""
    check_text_tree(data)
    out: list[FieldViolation] = []
    r = SpecReader(data, "", _DEPARTMENT_KEYS, out)
    code = r.text("code", pattern=DEPARTMENT_CODE)
    name = r.text("name")
    name_en = r.text("name_en", required=False)
    level = r.enum("level", AdminLevel)
    region_code = r.text("region_code", pattern=REGION_CODE)
    status = r.enum("status", DepartmentStatus, DepartmentStatus.ACTIVE)
    endpoint = r.text("adapter_endpoint", required=False, pattern=ENDPOINT)
    keys = r.objects("keys", _parse_key)
    kids = [k.kid for k in keys]
    for kid in sorted({k for k in kids if kids.count(k) > 1}):
        r.problem("keys", f"duplicate kid {quote(kid)}")
    raise_if_any(out, "department", "INVALID_DEPARTMENT", code)
    assert code and name and level and region_code and status
    return Department(
        code=code,
        name=name,
        name_en=(name_en or "").strip(),
        level=level,
        region_code=region_code,
        status=status,
        adapter_endpoint=endpoint,
        keys=keys,
    )


def department_to_dict(d: Department) -> dict[str, Any]:
    """Return the dict form of a department; parse_department reads it back."""
    return _drop_none(
        {
            "code": d.code,
            "name": d.name,
            "name_en": d.name_en or None,
            "level": d.level.value,
            "region_code": d.region_code,
            "status": d.status.value,
            "adapter_endpoint": d.adapter_endpoint,
            "keys": [
                {
                    "kid": k.kid,
                    "use": k.use.value,
                    "algorithm": k.algorithm,
                    "public_key_pem": k.public_key_pem,
                    "status": k.status.value,
                }
                for k in d.keys
            ],
        }
    )


# --- service items ----------------------------------------------------------------------------------

_ITEM_KEYS = (
    "code",
    "name",
    "lead_department",
    "co_reviewers",
    "required_materials",
    "time_limit_days",
    "promised_days",
    "description",
    "basic_code",
    "implementation_code",
)
_MATERIAL_KEYS = ("dataset", "fields", "mandatory", "description")


def _parse_material(data: Any, path: str, out: list[FieldViolation]) -> RequiredMaterial | None:
    before = len(out)
    r = SpecReader(data, path, _MATERIAL_KEYS, out)
    dataset = r.text("dataset", pattern=DATASET_CODE)
    fields = r.strings("fields", pattern=FIELD_NAME)
    if r.ok and not r.data.get("fields"):
        r.problem("fields", "list the fields the item needs (at least one)")
    mandatory = r.flag("mandatory", True)
    description = r.text("description", required=False) or ""
    if len(out) > before or dataset is None:
        return None
    return RequiredMaterial(dataset=dataset, fields=fields, mandatory=mandatory, description=description)


def parse_service_item(data: Mapping[str, Any]) -> ServiceItem:
    """Parse a service item from its dict form, or raise InvalidArgument(INVALID_SERVICE_ITEM)."""
    check_text_tree(data)
    out: list[FieldViolation] = []
    r = SpecReader(data, "", _ITEM_KEYS, out)
    code = r.text("code", pattern=SERVICE_ITEM_CODE)
    name = r.text("name")
    lead = r.text("lead_department", pattern=DEPARTMENT_CODE)
    co_reviewers = r.strings("co_reviewers", pattern=DEPARTMENT_CODE)
    if lead is not None and lead in co_reviewers:
        r.problem("co_reviewers", f"{lead!r} is the lead department; it cannot also co-review")
    materials = r.objects("required_materials", _parse_material)
    time_limit = r.integer("time_limit_days", 1, 365)
    promised = r.integer("promised_days", 1, 365, required=False)
    if time_limit is not None and promised is not None and promised > time_limit:
        r.problem("promised_days", f"{promised} is longer than the statutory time limit of {time_limit} days")
    description = r.text("description", required=False) or ""
    basic_code = r.text("basic_code", required=False, pattern=NATIONAL_CODE) or ""
    implementation_code = r.text("implementation_code", required=False, pattern=NATIONAL_CODE) or ""
    raise_if_any(out, "service item", "INVALID_SERVICE_ITEM", code)
    assert code and name and lead and time_limit
    return ServiceItem(
        code=code,
        name=name,
        lead_department=lead,
        co_reviewers=co_reviewers,
        required_materials=materials,
        time_limit_days=time_limit,
        promised_days=promised,
        description=description,
        basic_code=basic_code,
        implementation_code=implementation_code,
    )


def service_item_to_dict(s: ServiceItem) -> dict[str, Any]:
    """Return the dict form of a service item; parse_service_item reads it back."""
    return _drop_none(
        {
            "code": s.code,
            "name": s.name,
            "lead_department": s.lead_department,
            "co_reviewers": list(s.co_reviewers),
            "required_materials": [
                {
                    "dataset": m.dataset,
                    "fields": list(m.fields),
                    "mandatory": m.mandatory,
                    "description": m.description,
                }
                for m in s.required_materials
            ],
            "time_limit_days": s.time_limit_days,
            "promised_days": s.promised_days,
            "description": s.description,
            "basic_code": s.basic_code or None,
            "implementation_code": s.implementation_code or None,
        }
    )


def material_violations(item: ServiceItem, datasets: Mapping[str, Dataset]) -> list[FieldViolation]:
    """Return each required material that names a dataset or field the catalog does not have."""
    out: list[FieldViolation] = []
    for i, material in enumerate(item.required_materials):
        path = f"required_materials[{i}]"
        dataset = datasets.get(material.dataset)
        if dataset is None:
            out.append(FieldViolation(f"{path}.dataset", f"no dataset {quote(material.dataset)} in the catalog"))
            continue
        for j, name in enumerate(material.fields):
            if not dataset.schema.has_field(name):
                out.append(
                    FieldViolation(
                        f"{path}.fields[{j}]",
                        f"{material.dataset} has no field {quote(name)}; it has: {', '.join(dataset.schema.names)}",
                    )
                )
    return out


# --- tagged specs ---------------------------------------------------------------------------------

SPEC_KINDS: dict[str, Callable[[Mapping[str, Any]], Dataset | Department | ServiceItem]] = {
    "Dataset": parse_dataset,
    "Department": parse_department,
    "ServiceItem": parse_service_item,
}


def parse_spec(data: Mapping[str, Any]) -> Dataset | Department | ServiceItem:
    """Parse a tagged spec ``{kind: Dataset|Department|ServiceItem, spec: {...}}`` into its object."""
    tag = data.get("kind") if isinstance(data, Mapping) else None
    allowed = ", ".join(SPEC_KINDS)
    if tag not in SPEC_KINDS:
        raise InvalidArgument(
            f"spec kind {quote(tag)} is unknown; expected kind: one of {allowed}, with the object under spec:",
            reason="UNKNOWN_SPEC_KIND",
            violations=[FieldViolation("kind", f"expected one of {allowed}")],
        )
    extra = sorted(set(data) - {"kind", "spec"})
    if extra or not isinstance(data.get("spec"), Mapping):
        # The object sits under `spec` because a dataset has its own `kind` (record/table).
        problems = [FieldViolation(k, "unknown key; allowed: kind, spec") for k in extra]
        if not isinstance(data.get("spec"), Mapping):
            problems.append(FieldViolation("spec", "required: the object itself"))
        raise InvalidArgument(f"a {tag} spec has two keys, kind and spec", reason="MALFORMED_FILE", violations=problems)
    return SPEC_KINDS[str(tag)](data["spec"])


def to_spec(obj: Dataset | Department | ServiceItem) -> dict[str, Any]:
    """Return the tagged spec form of an object; parse_spec reads it back."""
    if isinstance(obj, Dataset):
        return {"kind": "Dataset", "spec": dataset_to_dict(obj)}
    if isinstance(obj, Department):
        return {"kind": "Department", "spec": department_to_dict(obj)}
    return {"kind": "ServiceItem", "spec": service_item_to_dict(obj)}
