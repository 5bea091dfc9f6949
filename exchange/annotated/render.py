"""Lay out an annotated copy as a one-page A4 PDF: the licence's fields, the annotation and a QR code.

Text is set in a CJK OpenType font through pyHanko's font engine (fontTools + HarfBuzz), which embeds
the font with a ToUnicode map, so text extraction reads the Chinese back. The engine parses whatever
font it is given, so it is given a subset: the face cut down by HarfBuzz's subsetter (milliseconds,
from the memory-mapped file) to the characters the copy can show, the layout's words and the copy's
own text, and embedded as it is. A whole CJK face (16 MiB, 65,535 glyphs) is never parsed.
"""

from __future__ import annotations

import dataclasses
import io
import string
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import qrcode
import uharfbuzz as hb
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.qr import PdfStreamQRImage
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

from exchange.annotated import layout
from exchange.annotated.layout import Annotation, CopyTemplate, beijing_time
from exchange.errors import FailedPrecondition

A4 = (0.0, 0.0, 595.0, 842.0)
MARGIN = 56.0
LABEL_WIDTH = 170.0
BODY_SIZE = 10.0
# Horizontal Chinese and Latin text needs no layout tables; without them the cut-down font is smaller still.
_LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "VORG", "vhea", "vmtx")
# Every word the layout itself sets is in these two modules; times, codes and hashes are ASCII.
_LAYOUT_CHARACTERS = frozenset(
    Path(__file__).read_text(encoding="utf-8") + Path(layout.__file__).read_text(encoding="utf-8") + string.printable
)
_fonts: dict[str, CopyFont] = {}
_fonts_lock = threading.Lock()


class CopyFont:
    """A CJK face, cut down for each copy to the characters it shows; the last few cuts kept, by character set."""

    def __init__(self, face: hb.Face, *, cached: int = 64) -> None:
        self.face = face
        self._cuts: OrderedDict[frozenset[str], bytes] = OrderedDict()
        self._cached = cached
        self._lock = threading.Lock()

    def subset(self, characters: frozenset[str]) -> bytes:
        """An OpenType font with the glyphs of `characters` only (CFF CIDs kept), without layout tables."""
        with self._lock:
            if characters in self._cuts:
                self._cuts.move_to_end(characters)
                return self._cuts[characters]
        wanted = hb.SubsetInput()
        for char in characters:
            wanted.unicode_set.add(ord(char))
        for table in _LAYOUT_TABLES:
            wanted.drop_table_tag_set.add(int.from_bytes(table.encode("ascii"), "big"))
        cut = hb.subset(self.face, wanted)
        if cut is None:
            raise FailedPrecondition(
                "annotated_copy_font: HarfBuzz could not subset the font; name another OpenType or TrueType font",
                reason="ANNOTATED_COPY_FONT_INVALID",
            )
        program = bytes(cut.blob.data)
        with self._lock:
            self._cuts[characters] = program
            if len(self._cuts) > self._cached:
                self._cuts.popitem(last=False)
        return program


def font_program(path: str) -> CopyFont:
    """The font file ready to cut down per copy: from a collection (.ttc), its Simplified Chinese face. Cached."""
    with _fonts_lock:
        if path not in _fonts:
            _fonts[path] = CopyFont(_open_face(Path(path)))
        return _fonts[path]


def _open_face(path: Path) -> hb.Face:
    if not path.is_file():
        raise FailedPrecondition(
            f"annotated_copy_font: no font file at {path}; install Debian's fonts-noto-cjk or name another "
            "CJK OpenType font",
            reason="ANNOTATED_COPY_FONT_MISSING",
        )
    # Memory-mapped: only the pages of the glyphs a copy uses are read.
    blob = hb.Blob.from_file_path(str(path))
    faces = [hb.Face(blob, index) for index in range(max(1, hb.Face(blob).count))]
    face = next((f for f in faces if " SC" in (f.get_name(hb.OTNameIdPredefined.FONT_FAMILY) or "")), faces[0])
    if face.glyph_count == 0:
        raise FailedPrecondition(
            f"annotated_copy_font: {path} is not an OpenType or TrueType font (or collection)",
            reason="ANNOTATED_COPY_FONT_INVALID",
        )
    return face


class _CutFont(GlyphAccumulator):
    """pyHanko's font engine over a font already cut down to the copy's characters, embedded as it is.

    The cut holds a few glyphs the page may not draw (layout words this copy does not show): a kilobyte or two.
    Cutting it again with fontTools and recomputing its bounding box from every outline would cost more CPU
    than the rest of the copy together.
    """

    def __init__(self, writer: PdfFileWriter, program: bytes) -> None:
        super().__init__(writer, io.BytesIO(program), 1)
        self.tt.recalcBBoxes = False  # the face's own box bounds every glyph of the cut

    def _extract_subset(self, options: Any = None) -> None:
        """Already cut (CopyFont.subset)."""


class _Page:
    """A content stream under construction, with one embedded font."""

    def __init__(self, writer: PdfFileWriter, font: CopyFont, characters: frozenset[str]) -> None:
        self.font = _CutFont(writer, font.subset(characters))
        self.characters = characters
        self.ops: list[bytes] = []
        self.y = A4[3] - MARGIN
        self._advances: dict[str, float] = {}

    def width(self, text: str, size: float) -> float:
        """Width of `text` at `size`: the sum of its characters' advances (no kerning without layout tables)."""
        total = 0.0
        for char in text:
            if char not in self._advances:
                self._advances[char] = float(self.font.shape(char).x_advance)
            total += self._advances[char]
        return total * size

    def text(self, x: float, y: float, text: str, size: float = BODY_SIZE) -> None:
        if not self.characters.issuperset(text):
            # Its glyph would be .notdef (a blank box): a word the layout sets from outside render.py and layout.py.
            missing = "".join(sorted(set(text) - self.characters))
            raise ValueError(f"the copy's font was not cut for {missing!r}; copy_characters must include them")
        if text:
            shaped = self.font.shape(text)
            self.ops.append(b"BT /F1 %g Tf %g %g Td %s ET" % (size, x, y, shaped.graphics_ops))

    def wrap(self, text: str, size: float, width: float) -> list[str]:
        """Break `text` into lines no wider than `width`: at the last space when the line has one (Latin
        words stay whole), else between characters (Chinese has no spaces to break at)."""
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line = ""
            for char in paragraph:
                if line and self.width(line + char, size) > width:
                    space = line.rfind(" ")
                    if space > 0 and char != " ":
                        lines.append(line[:space])
                        line = line[space + 1 :]
                    else:
                        lines.append(line)
                        line = ""
                    if char == " " and not line:
                        continue
                line += char
            lines.append(line)
        return lines

    def fitted(self, text: str, size: float, smallest: float, width: float) -> float:
        """The largest size from `size` down to `smallest` at which `text` fits on one line."""
        while size > smallest and self.width(text, size) > width:
            size -= 0.5
        return size

    def paragraph(self, x: float, text: str, size: float, width: float, leading: float = 1.4) -> None:
        for line in self.wrap(text, size, width):
            self.text(x, self.y, line, size)
            self.y -= size * leading

    def rule(self, y: float) -> None:
        self.ops.append(b"0.5 w %g %g m %g %g l S" % (MARGIN, y, A4[2] - MARGIN, y))

    def box(self, x: float, y: float, w: float, h: float) -> None:
        self.ops.append(b"q 0.75 0 0 RG 1.2 w %g %g %g %g re S Q" % (x, y, w, h))

    def qr(self, x: float, y: float, data: str, size: float) -> None:
        code = qrcode.QRCode(
            image_factory=PdfStreamQRImage, border=0, error_correction=qrcode.constants.ERROR_CORRECT_M
        )
        code.add_data(data)
        code.make(fit=True)
        modules = code.modules_count
        image = code.make_image()
        scale = size / (modules * image.box_size)
        self.ops.append(b"q %g 0 0 %g %g %g cm %s Q" % (scale, scale, x, y, image.render_command_stream()))


def _value(document: Mapping[str, Any], name: str) -> str:
    value = document.get(name)
    if value is None:
        return "—"
    return value if isinstance(value, str) else str(value)


def copy_characters(template: CopyTemplate, document: Mapping[str, Any], annotation: Annotation) -> frozenset[str]:
    """Every character the copy can show: the layout's words, the template's, the document's and the annotation's."""
    texts = [template.title_zh, template.title_en]
    texts += [text for line in template.fields for text in (line.zh, line.en, _value(document, line.field))]
    texts += [str(getattr(annotation, f.name)) for f in dataclasses.fields(annotation)]
    return _LAYOUT_CHARACTERS.union(*texts)


def render_copy(
    template: CopyTemplate, document: Mapping[str, Any], annotation: Annotation, *, font: CopyFont
) -> bytes:
    """The unsigned PDF of an annotated copy: fields the caller may see (others omitted), then the annotation."""
    writer = PdfFileWriter()
    page = _Page(writer, font, copy_characters(template, document, annotation))
    right = A4[2] - MARGIN
    page.text(MARGIN, page.y, f"{template.title_zh}（加注件）", 18)
    page.y -= 22
    page.text(MARGIN, page.y, f"{template.title_en} (annotated copy)", 11)
    page.y -= 12
    page.rule(page.y)
    page.y -= 20
    shown = [line for line in template.fields if line.field in document]
    for line in shown:
        top = page.y
        page.text(MARGIN, page.y, line.zh, BODY_SIZE)
        page.text(MARGIN, page.y - 12, line.en, 7.5)
        page.y = top
        page.paragraph(MARGIN + LABEL_WIDTH, _value(document, line.field), BODY_SIZE, right - MARGIN - LABEL_WIDTH)
        page.y = min(page.y, top - 22) - 6
    page.rule(page.y + 6)
    page.y -= 10

    # The annotation: a red-framed block with the QR code at its right.
    qr_size = 110.0
    block_top = page.y
    text_width = right - MARGIN - qr_size - 24
    page.y -= 6
    purpose_size = page.fitted(annotation.purpose_line, 16, 10, text_width)
    page.paragraph(MARGIN + 8, annotation.purpose_line, purpose_size, text_width)
    page.paragraph(MARGIN + 8, f"For {annotation.item_name} ({annotation.item_code}) only", 9, text_width)
    page.y -= 4
    facts = [
        (
            "用途 Purpose",
            f"案件 Case {annotation.case_id} · 事项 Service item {annotation.item_name} ({annotation.item_code})",
        ),
        ("使用部门 Requesting department", f"{annotation.department_name} ({annotation.department})"),
        ("经办人 Officer", annotation.officer),
        ("加注时间 Annotated at", beijing_time(annotation.made_at_us)),
        ("有效期至 Copy valid until", beijing_time(annotation.valid_until_us)),
        (
            "来源 Source",
            f"{annotation.issuer} · {annotation.dataset} {annotation.key} (v{annotation.material_version})",
        ),
        ("存证 Receipt", f"日志序号 log index {annotation.receipt_index} · {annotation.receipt_origin}"),
    ]
    for label, value in facts:
        page.paragraph(MARGIN + 8, f"{label}: {value}", 8.5, text_width, leading=1.35)
    page.paragraph(MARGIN + 8, "叶哈希 Leaf hash:", 8.5, text_width, leading=1.35)
    page.paragraph(
        MARGIN + 8,
        annotation.receipt_leaf_hash,
        page.fitted(annotation.receipt_leaf_hash, 8.5, 5, text_width),
        text_width,
    )
    page.y -= 4
    page.paragraph(
        MARGIN + 8,
        "本加注件由数据交换平台签章（PAdES）；原证照不变。"
        " Signed by the exchange hub (PAdES); the original licence is unchanged.",
        7,
        text_width,
    )
    bottom = min(page.y, block_top - qr_size - 16)
    page.box(MARGIN, bottom, right - MARGIN, block_top - bottom)
    page.qr(right - qr_size - 8, block_top - qr_size - 8, annotation.receipt_text, qr_size)

    stream = generic.StreamObject(stream_data=b"\n".join(page.ops))
    resources = generic.DictionaryObject(
        {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): page.font.as_resource()})}
    )
    writer.insert_page(PageObject(writer.add_object(stream), A4, resources))
    page.font.prepare_write()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
