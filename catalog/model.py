"""The catalog's types: datasets, departments and service items as plain frozen dataclasses, and their code formats.

Reading them from YAML/JSON-shaped dicts and writing them back is `catalog.specs`; files are `catalog.yaml_io`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from catalog.identifiers import KeyFormat
from catalog.schema import DatasetSchema

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
# A resource code: the classification code and a sequence, e.g. 370100-A01-0001 or 370100/00012.
RESOURCE_CODE = re.compile(r"^[0-9A-Z][0-9A-Z./-]{0,63}$")
CLASSIFICATION_LEVELS = ("class", "item", "sub-item", "detail")


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
    """A department connected to the hub: its Chinese name first, an English one optional."""

    code: str
    name: str
    level: AdminLevel
    region_code: str
    status: DepartmentStatus = DepartmentStatus.ACTIVE
    adapter_endpoint: str | None = None
    keys: tuple[DepartmentKey, ...] = ()
    # What an English reader sees (department_name); empty: they read the Chinese name.
    name_en: str = ""


class NamedDepartment(Protocol):
    """A department as a reader sees it, here or in a client: its Chinese name and its English one ("": none)."""

    @property
    def name(self) -> str: ...

    @property
    def name_en(self) -> str: ...


def department_name(department: NamedDepartment, language: str) -> str:
    """The department's name for a reader of `language` (a tag such as zh-CN or en): English names for
    English readers when the department has one, the Chinese name otherwise."""
    english = language.lower().replace("_", "-").split("-")[0] == "en"
    return department.name_en if english and department.name_en else department.name


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
