"""Catalog entries as plain frozen dataclasses, parsed from and written back to YAML/JSON-shaped dicts."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import yaml

from catalog.errors import FieldViolation, InvalidArgument, quote
from catalog.identifiers import KeyFormat
from catalog.limits import check_text_tree
from catalog.schema import DatasetSchema, collect_schema, schema_to_list

DATASET_CODE = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
DEPARTMENT_CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,31}$")
SERVICE_ITEM_CODE = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")
# The national government-service item catalogue's codes (基本编码, 实施编码): digits and capital letters.
# Their exact format is a hub setting (item_basic_code_pattern, item_implementation_code_pattern).
NATIONAL_CODE = re.compile(r"^[0-9A-Z]{1,64}$")
REGION_CODE = re.compile(r"^\d{6}$")
VERSION = re.compile(r"^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$")
ENDPOINT = re.compile(r"^[A-Za-z0-9.\-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$")
KEY_ALGORITHMS = ("EdDSA", "ES256")


class DatasetKind(StrEnum):
    """record: a keyed lookup of one document; table: bulk rows."""

    RECORD = "record"
    TABLE = "table"


class SharingType(StrEnum):
    """The three sharing types of the State Council rules."""

    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NOT_SHARED = "not_shared"


class SharingMethod(StrEnum):
    """How a catalogue entry is shared (共享方式): through an interface, database tables or files."""

    INTERFACE = "interface"
    DATABASE = "database"
    FILE = "file"


class OpenAttribute(StrEnum):
    """Whether an entry may be opened to the public (开放属性)."""

    OPEN = "open"
    CONDITIONAL_OPEN = "conditional_open"
    NOT_OPEN = "not_open"


class DatasetStatus(StrEnum):
    """Where a catalog entry is in its life."""

    DRAFT = "draft"
    PUBLISHED = "published"
    DEPRECATED = "deprecated"


class AdminLevel(StrEnum):
    """The administrative level of a department."""

    NATIONAL = "national"
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"


class UpdateFrequency(StrEnum):
    """How often the source updates a dataset."""

    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"


class DepartmentStatus(StrEnum):
    """Whether a department may use the hub."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class KeyUse(StrEnum):
    """What a department's public key verifies: its JWTs or the documents it signs."""

    TOKEN = "token"  # noqa: S105 - a key use, not a password
    SIGNING = "signing"


class KeyStatus(StrEnum):
    """Retired keys still verify old signatures but sign nothing new."""

    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True)
class Dataset:
    """A catalog entry: what a department shares, its schema and the rules of sharing it."""

    code: str
    title: str
    description: str
    owner: str
    kind: DatasetKind
    key_field: str
    key_format: KeyFormat
    schema: DatasetSchema
    sharing_type: SharingType
    update_frequency: UpdateFrequency
    legal_basis: str = ""
    version: str = "1.0"
    status: DatasetStatus = DatasetStatus.PUBLISHED
    subject_field: str | None = None
    validity_field: str | None = None
    status_field: str | None = None
    theme: str = ""
    keywords: tuple[str, ...] = ()
    # The resource-catalogue fields of the 2016 State Council sharing rules (docs/catalog.md): the
    # resource code, the classification (class / item / sub-item / detail, 类 / 项 / 目 / 细目), the
    # provider's code, the sharing conditions and method, the open attribute and the publication date
    # (ISO 8601). Empty: not yet catalogued.
    resource_code: str = ""
    classification: tuple[str, ...] = ()
    provider_code: str = ""
    sharing_conditions: str = ""
    sharing_method: SharingMethod | None = None
    open_attribute: OpenAttribute | None = None
    publication_date: str = ""

    @property
    def major(self) -> int:
        """Return the major part of the version."""
        return int(self.version.split(".")[0])

    @property
    def minor(self) -> int:
        """Return the minor part of the version."""
        return int(self.version.split(".")[1])


@dataclass(frozen=True)
class DepartmentKey:
    """A department's public key, named by kid."""

    kid: str
    use: KeyUse
    algorithm: str
    public_key_pem: str
    status: KeyStatus = KeyStatus.ACTIVE


@dataclass(frozen=True)
class Department:
    """A department connected to the hub."""

    code: str
    name: str
    level: AdminLevel
    region_code: str
    status: DepartmentStatus = DepartmentStatus.ACTIVE
    adapter_endpoint: str | None = None
    keys: tuple[DepartmentKey, ...] = ()


@dataclass(frozen=True)
class RequiredMaterial:
    """One material a service item needs: which dataset and which of its fields."""

    dataset: str
    fields: tuple[str, ...]
    mandatory: bool = True
    description: str = ""


@dataclass(frozen=True)
class ServiceItem:
    """What a citizen or company can apply for, who decides it and what it needs."""

    code: str
    name: str
    lead_department: str
    time_limit_days: int
    co_reviewers: tuple[str, ...] = ()
    required_materials: tuple[RequiredMaterial, ...] = ()
    promised_days: int | None = None
    description: str = ""
    # The national catalogue's basic code (基本编码) and implementation code (实施编码); empty: not given.
    basic_code: str = ""
    implementation_code: str = ""


# --- a reader that collects every problem ----------------------------------------------------------

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")
_MISSING = object()


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


class _Reader:
    """Reads one mapping at a path, collecting a FieldViolation for each problem instead of stopping."""

    def __init__(self, data: Any, path: str, allowed: tuple[str, ...], out: list[FieldViolation]) -> None:
        self.out = out
        self.path = path
        self.ok = isinstance(data, Mapping)
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        if not self.ok:
            out.append(FieldViolation(path or "(top)", f"expected an object, found {_kind_of(data)}"))
            return
        for key in self.data:
            if key not in allowed:
                hint = f"unknown key; allowed: {', '.join(allowed)}"
                out.append(FieldViolation(self.at(str(key)), hint))

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str, description: str) -> None:
        self.out.append(FieldViolation(self.at(key), description))

    def raw(self, key: str, required: bool) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required and self.ok:
                self.problem(key, "required")
            return _MISSING
        return value

    def text(self, key: str, *, required: bool = True, pattern: re.Pattern[str] | None = None) -> str | None:
        value = self.raw(key, required)
        if value is _MISSING:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            # YAML reads 110100 and 1.0 as numbers; codes and versions are text.
            self.problem(key, f'expected a string, found the number {value}; quote it ("{value}")')
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(key, f"expected a non-empty string, found {_kind_of(value)}")
            return None
        if pattern is not None and not pattern.match(value):
            self.problem(key, f"{quote(value)} does not match {pattern.pattern}")
            return None
        return value

    def enum(self, key: str, cls: type[E], default: E | None = None) -> E | None:
        value = self.raw(key, default is None)
        if value is _MISSING:
            return default
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            self.problem(key, f"unknown value {quote(value)}; allowed: {allowed}")
            return None

    def optional_enum(self, key: str, cls: type[E]) -> E | None:
        """An enum value that may be left out (None)."""
        if self.raw(key, False) is _MISSING:
            return None
        return self.enum(key, cls)

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key, False)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.problem(key, f"expected true or false, found {_kind_of(value)}")
            return default
        return value

    def integer(self, key: str, low: int, high: int, *, required: bool = True) -> int | None:
        value = self.raw(key, required)
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(key, f"expected an integer in {low}..{high}, found {quote(value)}")
            return None
        return value

    def strings(self, key: str, *, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        value = self.raw(key, False)
        if value is _MISSING:
            return ()
        if not isinstance(value, list):
            self.problem(key, f"expected a list of strings, found {_kind_of(value)}")
            return ()
        items: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or (pattern is not None and not pattern.match(item)):
                expected = f"a string matching {pattern.pattern}" if pattern else "a string"
                self.out.append(FieldViolation(f"{self.at(key)}[{i}]", f"expected {expected}, found {quote(item)}"))
            else:
                items.append(item)
        return tuple(items)

    def objects(self, key: str, parse: Callable[[Any, str, list[FieldViolation]], T | None]) -> tuple[T, ...]:
        value = self.raw(key, False)
        if value is _MISSING:
            return ()
        if not isinstance(value, list):
            self.problem(key, f"expected a list, found {_kind_of(value)}")
            return ()
        parsed = [parse(item, f"{self.at(key)}[{i}]", self.out) for i, item in enumerate(value)]
        return tuple(p for p in parsed if p is not None)


def _raise_if_any(out: list[FieldViolation], what: str, reason: str, name: Any) -> None:
    if out:
        label = f" {name!r}" if isinstance(name, str) else ""
        raise InvalidArgument(
            f"{what}{label} has {len(out)} problem(s); fix them and submit again",
            reason=reason,
            violations=out,
        )


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
# A resource code: the classification code and a sequence, e.g. 370100-A01-0001 or 370100/00012.
RESOURCE_CODE = re.compile(r"^[0-9A-Z][0-9A-Z./-]{0,63}$")
CLASSIFICATION_LEVELS = ("class", "item", "sub-item", "detail")


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _is_moment(t: pa.DataType) -> bool:
    return bool(pa.types.is_date32(t) or pa.types.is_timestamp(t))


def parse_dataset(data: Mapping[str, Any]) -> Dataset:
    """Parse a dataset from its dict form, or raise InvalidArgument(INVALID_DATASET) listing every problem."""
    check_text_tree(data)
    out: list[FieldViolation] = []
    r = _Reader(data, "", _DATASET_KEYS, out)
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
    if schema_data is not _MISSING:
        sr = _Reader(schema_data, "schema", ("fields",), out)
        fields = sr.raw("fields", True)
        if fields is not _MISSING:
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
    _raise_if_any(out, "dataset", "INVALID_DATASET", code)
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


def _iso_date(r: _Reader, key: str) -> str:
    """An ISO 8601 date (YAML's unquoted 2026-01-15 too) as text, or a problem; empty when not given."""
    value = r.raw(key, False)
    if value is _MISSING:
        return ""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    r.problem(key, f"expected a date such as 2026-01-15, found {quote(str(value))}")
    return ""


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

_DEPARTMENT_KEYS = ("code", "name", "level", "region_code", "status", "adapter_endpoint", "keys")
_KEY_KEYS = ("kid", "use", "algorithm", "public_key_pem", "status")


def _parse_key(data: Any, path: str, out: list[FieldViolation]) -> DepartmentKey | None:
    before = len(out)
    r = _Reader(data, path, _KEY_KEYS, out)
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
    r = _Reader(data, "", _DEPARTMENT_KEYS, out)
    code = r.text("code", pattern=DEPARTMENT_CODE)
    name = r.text("name")
    level = r.enum("level", AdminLevel)
    region_code = r.text("region_code", pattern=REGION_CODE)
    status = r.enum("status", DepartmentStatus, DepartmentStatus.ACTIVE)
    endpoint = r.text("adapter_endpoint", required=False, pattern=ENDPOINT)
    keys = r.objects("keys", _parse_key)
    kids = [k.kid for k in keys]
    for kid in sorted({k for k in kids if kids.count(k) > 1}):
        r.problem("keys", f"duplicate kid {quote(kid)}")
    _raise_if_any(out, "department", "INVALID_DEPARTMENT", code)
    assert code and name and level and region_code and status
    return Department(
        code=code,
        name=name,
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
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _parse_material(data: Any, path: str, out: list[FieldViolation]) -> RequiredMaterial | None:
    before = len(out)
    r = _Reader(data, path, _MATERIAL_KEYS, out)
    dataset = r.text("dataset", pattern=DATASET_CODE)
    fields = r.strings("fields", pattern=_FIELD_NAME)
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
    r = _Reader(data, "", _ITEM_KEYS, out)
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
    _raise_if_any(out, "service item", "INVALID_SERVICE_ITEM", code)
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


# --- spec files -------------------------------------------------------------------------------------

SPEC_KINDS: dict[str, Callable[[Mapping[str, Any]], Dataset | Department | ServiceItem]] = {
    "Dataset": parse_dataset,
    "Department": parse_department,
    "ServiceItem": parse_service_item,
}


def load_spec_file(path: str | Path) -> dict[str, Any]:
    """Read one object from a .yaml/.yml/.json file; a syntax error names the file and line."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise InvalidArgument(
            f"{p}: unsupported file type {suffix!r}; use .yaml, .yml or .json", reason="MALFORMED_FILE"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"{p}: cannot read the file: {exc}", reason="MALFORMED_FILE") from None
    return load_spec_text(text, str(p), json_only=suffix == ".json")


def load_spec_text(text: str, source: str, *, json_only: bool = False) -> dict[str, Any]:
    """Parse one object from YAML (or JSON) text; a syntax error names the source and line."""
    try:
        data = json.loads(text) if json_only else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"{source}, line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}", reason="MALFORMED_FILE"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidArgument(f"{source}{where}: invalid YAML: {problem}", reason="MALFORMED_FILE") from None
    if not isinstance(data, dict):
        raise InvalidArgument(
            f"{source}: expected one object (a mapping) at the top, found {_kind_of(data)}",
            reason="MALFORMED_FILE",
        )
    return data


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
