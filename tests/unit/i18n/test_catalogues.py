"""The catalogues are current, complete and used: `make test` fails on an untranslated or stale string."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from exchange import i18n
from exchange.console.strings import EN, text

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = ROOT / "exchange" / "console" / "templates"


def _tool():
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_message_in_the_code_is_in_both_catalogues_translated_and_compiled():
    """Extracts to a fresh template and compares; names each stale, missing or untranslated message."""
    problems = _tool().problems()
    assert problems == [], "\n".join(problems)


def test_every_key_a_template_uses_is_in_the_source_table():
    used = {m for path in TEMPLATES.glob("*.html") for m in re.findall(r"\bt\('([a-z_.]+)'", path.read_text())}
    dynamic = {k for k in used if k.endswith(".")}  # t('role.' + account.role): a prefix
    missing = sorted(k for k in used - dynamic if k not in EN)
    assert missing == []


def test_placeholders_survive_translation():
    """A Chinese text that dropped or renamed a {placeholder} would fail (or say less) when filled."""
    tool = _tool()
    wrong = [
        message.context
        for message in tool.read(tool.po_path("zh_CN"))
        if message.id and sorted(re.findall(r"\{(\w+)", message.id)) != sorted(re.findall(r"\{(\w+)", message.string))
    ]
    assert wrong == []


def test_text_follows_the_language_of_the_context():
    with i18n.using("zh-CN"):
        assert text("nav.cases") == "办件"
        assert text("items.days", n=20) == "20 个工作日"
    with i18n.using("en"):
        assert text("nav.cases") == "Cases"


def test_glossary_terms_are_the_ones_the_console_uses():
    """One term per concept: the glossary's zh column is what the console shows."""
    with i18n.using("zh-CN"):
        assert text("nav.log") == "访问日志"
        assert text("nav.requests") == "共享申请"
        assert text("sharing.conditional").startswith("有条件共享")
        assert text("items.co_reviewers") == "协办部门"
        assert text("log.officer") == "经办人"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5, zh;q=0.8", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("de, fr", None),
        ("en;q=0, zh-Hans", "zh-CN"),
        ("", None),
    ],
)
def test_accept_language_picks_the_best_supported_language(header, expected):
    assert i18n.from_accept_language(header) == expected


@pytest.mark.parametrize(("tag", "expected"), [("zh_CN.UTF-8", "zh-CN"), ("en_US.UTF-8", "en"), ("C", None)])
def test_locale_names_from_lang_are_understood(tag, expected):
    assert i18n.normalize(tag) == expected
