"""What an annotated copy shows: the licence's fields per dataset template, and the annotation itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from catalog.model import Dataset
from catalog.spec_reader import MISSING, SpecReader
from catalog.yaml_io import load_spec_file
from exchange.errors import FieldViolation, InvalidArgument

TEMPLATES = Path(__file__).parent / "templates"
# The annotation states Beijing time whatever the hub's display zone: it is what the copy's users read.
BEIJING = ZoneInfo("Asia/Shanghai")
RECEIPT_SCHEME = "exchange-receipt:v1"


@dataclass(frozen=True)
class FieldLine:
    """One labelled field of the licence: its name in the document, Chinese and English labels."""

    field: str
    zh: str
    en: str


@dataclass(frozen=True)
class CopyTemplate:
    """How one dataset's licence is laid out: a title and the fields in order."""

    title_zh: str
    title_en: str
    fields: tuple[FieldLine, ...]


@dataclass(frozen=True)
class Annotation:
    """The purpose, user, time and validity stamped on a copy, and the receipt of the material's fetch."""

    case_id: str
    item_code: str
    item_name: str
    department: str
    department_name: str
    officer: str
    made_at_us: int
    valid_until_us: int
    dataset: str
    key: str
    issuer: str
    material_version: int
    receipt_index: int
    receipt_leaf_hash: str
    receipt_origin: str

    @property
    def purpose_line(self) -> str:
        """The words that stop the copy being reused for another purpose."""
        return f"仅用于{self.item_name}办理"

    @property
    def receipt_text(self) -> str:
        """What the QR code carries: the access-log entry that fetched the material, as one line of text."""
        return (
            f"{RECEIPT_SCHEME};origin={self.receipt_origin};index={self.receipt_index};"
            f"leaf={self.receipt_leaf_hash};case={self.case_id};dataset={self.dataset};version={self.material_version}"
        )


def beijing_time(time_us: int) -> str:
    """A stored time as Beijing time, zone named in both languages."""
    moment = datetime.fromtimestamp(time_us / 1e6, UTC).astimezone(BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + " 北京时间 Beijing time (UTC+8)"


_TEMPLATE_KEYS = ("title", "fields")
_TITLE_KEYS = ("zh", "en")
_LINE_KEYS = ("field", "zh", "en")


def _line(raw: Any, path: str, out: list[FieldViolation]) -> FieldLine | None:
    """One entry of fields: the field's name, and its labels (the name when left out)."""
    r = SpecReader(raw, path, _LINE_KEYS, out)
    name, zh, en = r.text("field"), r.text("zh", required=False), r.text("en", required=False)
    return None if name is None else FieldLine(name, zh or name, en or name)


@lru_cache(maxsize=64)
def load_template(path: Path) -> CopyTemplate:
    """A template file, title {zh, en} and fields [{field, zh, en}], read with the catalog's SpecReader."""
    data = load_spec_file(path)
    out: list[FieldViolation] = []
    r = SpecReader(data, "", _TEMPLATE_KEYS, out)
    title = r.section("title", _TITLE_KEYS, required=False)
    title_zh = (title.text("zh", required=False) if title else None) or ""
    title_en = (title.text("en", required=False) if title else None) or ""
    fields = r.objects("fields", _line)
    if r.raw("fields", False) in (MISSING, []):
        r.problem("fields", "required: a list of at least one field")
    if out:
        raise InvalidArgument(
            f"the annotated copy template {path.name} has {len(out)} problem(s)",
            reason="TEMPLATE_INVALID",
            violations=out,
        )
    return CopyTemplate(title_zh, title_en, fields)


def default_template(dataset: Dataset) -> CopyTemplate:
    """Every schema field in order, labelled by its description (or its name), under the dataset's title."""
    return CopyTemplate(
        "电子证照",
        dataset.title,
        tuple(FieldLine(f.name, f.name, f.description or f.name) for f in dataset.schema.fields),
    )


def template_for(dataset: Dataset) -> CopyTemplate:
    """The dataset's own template (templates/<code>.yaml) when there is one, else the default."""
    path = TEMPLATES / f"{dataset.code}.yaml"
    if not path.is_file():
        return default_template(dataset)
    template = load_template(path)
    return CopyTemplate(template.title_zh, template.title_en or dataset.title, template.fields)
