"""The annotated copy's font: a copy is set from a font cut down to its own characters, and embeds a subset."""

from __future__ import annotations

import io
import re
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from catalog.model import Dataset
from catalog.specs import parse_spec
from catalog.yaml_io import load_spec_file
from exchange.annotated import Annotation, render_copy, template_for
from exchange.annotated.render import font_program
from exchange.config import Settings
from exchange.errors import FailedPrecondition
from exchange.testing import EXAMPLES

FONT = Settings().annotated_copy_font
pytestmark = pytest.mark.skipif(not Path(FONT).is_file(), reason=f"no CJK font at {FONT} (fonts-noto-cjk)")

LICENCE = {
    "unified_social_credit_code": "91110105MA01ABCD13",
    "name": "北京红灯笼餐饮有限公司",
    "legal_representative": "欧阳喆",
    "address": "北京市东城区鼓楼东大街12号",
    "business_scope": "餐饮服务；预包装食品销售",
    "status": "01",
}
ANNOTATION = Annotation(
    "c-1", "restaurant_permit", "餐饮服务许可", "SAMR", "市场监督管理局", "officer-7", 1_800_000_000_000_000,
    1_802_592_000_000_000, "business_licence", "91110105MA01ABCD13", "SAMR", 2, 41, "ab" * 32, "hub/x/access-log",
)  # fmt: skip


def licence_copy(licence: dict[str, str] = LICENCE) -> bytes:
    dataset = parse_spec(load_spec_file(EXAMPLES / "catalog" / "datasets" / "business_licence.yaml"))
    assert isinstance(dataset, Dataset)
    return render_copy(template_for(dataset), licence, ANNOTATION, font=font_program(FONT))


def embedded_font(pdf: bytes) -> tuple[str, bytes]:
    """The copy's one font: its PostScript name and its embedded program."""
    page = PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Kids"][0]
    cid_font = page["/Resources"]["/Font"]["/F1"]["/DescendantFonts"][0]
    descriptor = cid_font["/FontDescriptor"]
    program = descriptor.get("/FontFile3") or descriptor["/FontFile2"]
    return str(descriptor["/FontName"]), program.get_object().data


def test_copy_embeds_a_tagged_subset_far_smaller_than_the_font_file() -> None:
    name, program = embedded_font(licence_copy())
    assert re.fullmatch(r"/[A-Z]{6}\+\S+", name), name
    assert len(program) < Path(FONT).stat().st_size / 100


def test_copy_text_reads_back_in_chinese(tmp_path: Path) -> None:
    pdf = tmp_path / "copy.pdf"
    pdf.write_bytes(licence_copy())
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "营业执照（加注件）" in text and "统一社会信用代码" in text
    assert "北京红灯笼餐饮有限公司" in text and "欧阳喆" in text
    assert "仅用于餐饮服务许可办理" in text and "市场监督管理局 (SAMR)" in text
    assert "北京时间" in text


def test_a_copy_is_laid_out_without_loading_the_whole_font() -> None:
    """A copy needs a few hundred glyphs: reading the whole face (16 MiB for Noto Sans CJK SC) for each is waste."""
    licence_copy()  # the font file is opened once per process, not per copy
    other = LICENCE | {
        "name": "成都蜀韵茶楼有限公司",
        "legal_representative": "诸葛亮",
        "address": "成都市武侯区锦里路9号",
    }
    tracemalloc.start()
    try:
        licence_copy(other)  # characters of its own: nothing cut for the first copy serves it
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"a copy allocated {peak / 2**20:.0f} MiB at its peak"


def test_a_file_that_is_no_font_is_refused_naming_the_setting(tmp_path: Path) -> None:
    junk = tmp_path / "not-a-font.ttc"
    junk.write_bytes(b"this is a text file, not a font\n" * 64)
    with pytest.raises(FailedPrecondition) as refused:
        font_program(str(junk))
    assert refused.value.reason == "ANNOTATED_COPY_FONT_INVALID"
    assert "annotated_copy_font" in str(refused.value)
