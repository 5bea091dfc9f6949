"""The periodic supervision report as CSV and PDF (Chinese first, English complete).

The PDF is drawn with fpdf2, which embeds an OpenType CJK font: the fonts Debian ships for Chinese
(fonts-noto-cjk) are CFF-outline collections, which ReportLab's TrueType support refuses. The font is cut
down once (per font file, cached in the temporary directory) to the characters a report can hold.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import os
import string
import tempfile
from pathlib import Path

from exchange import localtime
from exchange.errors import FailedPrecondition
from exchange.supervision.figures import FigureRow, Figures

# Noto Sans CJK (fonts-noto-cjk, installed by scripts/ensure-chromium.sh); index 2 of the collection is SC.
FONT_CANDIDATES = (
    (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 2),
    (Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"), 2),
    (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), 0),
)

# (column, header): Chinese first, English complete.
COLUMNS = (
    ("scope", "范围 scope"),
    ("key", "部门、事项或数据集 department, service item or dataset"),
    ("volume", "办件量 cases opened"),
    ("finished", "办结 cases finished"),
    ("finished_on_time", "按时办结 finished on time"),
    ("on_time_rate", "按时办结率 on-time rate"),
    ("average_working_days", "平均用时(工作日) average working days used"),
    ("pauses", "补正暂停 correction pauses"),
    ("materials_fetched", "调取材料 materials fetched"),
    ("materials_reused", "复用材料 materials reused"),
    ("submissions_avoided", "免提交 submissions avoided"),
    ("requests_answered", "答复申请 access requests answered"),
    ("requests_answered_in_time", "按时答复 answered in time"),
    ("escalations", "督办 escalations"),
    ("yellow_warnings", "黄牌 yellow warnings"),
    ("red_warnings", "红牌 red warnings"),
    ("tickets_opened", "纠错单 correction tickets opened"),
    ("tickets_answered", "已答复 tickets answered"),
    ("tickets_answered_in_time", "按时答复纠错 tickets answered in time"),
    ("tickets_corrected", "已更正 tickets corrected"),
)
SCOPE_NAMES = {"department": "部门 department", "service_item": "事项 service item", "dataset": "数据集 dataset"}


def _value(row: FigureRow, column: str) -> str:
    if column == "scope":
        return row.scope
    if column == "on_time_rate":
        return f"{row.on_time_rate:.4f}"
    if column == "average_working_days":
        return f"{row.average_working_days:.2f}"
    return str(getattr(row, column))


def figures_csv(figures: Figures) -> bytes:
    """One line per department, service item and dataset, then one per (department, refusal reason); UTF-8 with BOM."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([header for _, header in COLUMNS] + ["拒绝原因 refusal reason", "拒绝次数 refusals"])
    for row in figures.sorted_rows():
        writer.writerow([_value(row, column) for column, _ in COLUMNS] + ["", ""])
    for (department, reason), count in sorted(figures.refusals.items()):
        writer.writerow(["refusal", department] + [""] * (len(COLUMNS) - 2) + [reason, str(count)])
    # The BOM lets spreadsheet programs open the Chinese headers as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def parse_figures_csv(data: bytes) -> tuple[dict[tuple[str, str], dict[str, str]], dict[tuple[str, str], int]]:
    """The rows of a report CSV by (scope, key) with their values by column, and the refusal counts."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    next(reader)
    rows: dict[tuple[str, str], dict[str, str]] = {}
    refusals: dict[tuple[str, str], int] = {}
    for line in reader:
        if line[0] == "refusal":
            refusals[(line[1], line[-2])] = int(line[-1])
        else:
            rows[(line[0], line[1])] = {column: value for (column, _), value in zip(COLUMNS, line, strict=False)}
    return rows, refusals


def _font() -> tuple[Path, int]:
    for path, index in FONT_CANDIDATES:
        if path.is_file():
            return _subset(path, index), 0
    tried = ", ".join(str(p) for p, _ in FONT_CANDIDATES)
    raise FailedPrecondition(
        f"no Chinese font for the report's PDF (tried {tried}); install fonts-noto-cjk (scripts/ensure-chromium.sh)",
        reason="REPORT_FONT_MISSING",
    )


@functools.cache
def _subset(path: Path, index: int) -> Path:
    """The font cut down to the characters a report can hold (this module's text and ASCII), cached on disk.

    Loading and subsetting a whole CJK collection takes seconds; the cut-down font (under 100 KiB) loads at once.
    Every word the PDF shows is in this module, and codes, reasons and times are ASCII.
    """
    text = "".join(sorted(set(Path(__file__).read_text(encoding="utf-8") + string.printable + "—")))
    stat = path.stat()
    key = hashlib.sha256(f"{path}|{index}|{stat.st_size}|{stat.st_mtime_ns}|{text}".encode()).hexdigest()[:16]
    cached = Path(tempfile.gettempdir()) / f"exchange-report-font-{key}.otf"
    if cached.is_file():
        return cached
    from fontTools import subset  # fpdf2's own dependency
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), fontNumber=index)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    font.save(str(partial))
    partial.replace(cached)  # atomic: another process may be writing the same file
    return cached


def figures_pdf(figures: Figures, title: str) -> bytes:
    """The report as an A4 landscape PDF with an embedded CJK font."""
    from fpdf import FPDF  # imported here: only report writers need it

    path, _ = _font()
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("cjk", "", str(path))
    pdf.add_font("cjk", "B", str(path))  # table headings ask for bold; one weight keeps the font small
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, "电子监察报告  Supervision report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    since, until = localtime.show(figures.since_us), localtime.show(figures.until_us)
    pdf.cell(0, 6, f"{title}   统计期间 period: {since} — {until}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    shown = [
        c for c in COLUMNS if c[0] not in ("finished_on_time", "requests_answered_in_time", "tickets_answered_in_time")
    ]
    widths = [18, 40] + [(277 - 58) / (len(shown) - 2)] * (len(shown) - 2)
    pdf.set_font("cjk", size=6.5)
    with pdf.table(col_widths=widths, text_align="CENTER", line_height=3.6) as table:
        table.row([header for _, header in shown])
        for row in figures.sorted_rows():
            cells = [SCOPE_NAMES.get(row.scope, row.scope), row.key]
            for column, _ in shown[2:]:
                if column == "on_time_rate":
                    cells.append(f"{row.on_time_rate:.0%} ({row.finished_on_time}/{row.finished})")
                elif column == "requests_answered":
                    cells.append(f"{row.requests_answered_in_time}/{row.requests_answered}")
                elif column == "tickets_answered":
                    cells.append(f"{row.tickets_answered_in_time}/{row.tickets_answered}")
                else:
                    cells.append(_value(row, column))
            table.row(cells)
    pdf.ln(4)
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 7, "拒绝原因统计  Refusals by reason", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=8)
    if not figures.refusals:
        pdf.cell(0, 6, "本期无拒绝  No refusals in this period", new_x="LMARGIN", new_y="NEXT")
    else:
        with pdf.table(col_widths=(50, 120, 40), line_height=4.5) as table:
            table.row(["部门 department", "原因 reason", "次数 count"])
            for (department, reason), count in sorted(figures.refusals.items()):
                table.row([department, reason, str(count)])
    return bytes(pdf.output())
