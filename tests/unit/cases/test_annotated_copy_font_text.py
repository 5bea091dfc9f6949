"""A hub whose annotated-copy font is missing or no font tells people so in their language (#16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange.annotated.render import font_program
from exchange.error_text import localized_text
from exchange.errors import FailedPrecondition


def _refusal(path: Path) -> FailedPrecondition:
    with pytest.raises(FailedPrecondition) as refused:
        font_program(str(path))
    return refused.value


def test_a_missing_font_is_said_in_chinese(tmp_path: Path) -> None:
    error = _refusal(tmp_path / "absent.ttc")
    assert error.reason == "ANNOTATED_COPY_FONT_MISSING"
    assert localized_text(error, "zh-CN") == (
        "找不到加注件所用的字体文件（annotated_copy_font）：请安装 fonts-noto-cjk，或指定另一个中文 OpenType 字体。"
    )
    assert localized_text(error, "en") == error.message


def test_a_file_that_is_no_font_is_said_in_chinese(tmp_path: Path) -> None:
    junk = tmp_path / "not-a-font.ttc"
    junk.write_bytes(b"this is a text file, not a font\n" * 64)
    error = _refusal(junk)
    assert error.reason == "ANNOTATED_COPY_FONT_INVALID"
    assert localized_text(error, "zh-CN") == (
        "加注件所用的字体文件（annotated_copy_font）不是 OpenType 或 TrueType 字体：请指定另一个中文字体。"
    )
