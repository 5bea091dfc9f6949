"""`exchange --help` in the CLI's language: every command's and option's help is in the catalogue, in Chinese."""

from __future__ import annotations

import click
from click.testing import CliRunner

from exchange import i18n
from exchange.cli import cli
from exchange.cli.help import example_messages, help_messages, message_id, paragraphs

CHINESE = {"LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": "", "EXCHANGE_LANG": ""}
ENGLISH = {"LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": "", "EXCHANGE_LANG": ""}


def test_under_a_chinese_locale_the_top_help_is_chinese() -> None:
    shown = CliRunner(env=CHINESE).invoke(cli, ["--help"])
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert "政府部门间的数据共享交换平台" in out and "用法:" in out and "选项:" in out and "命令:" in out
    assert "政务服务事项：申请人申请办理的事项及各事项所需的材料。" in out  # a group's line in the listing
    assert "显示此帮助信息并退出。" in out and "示例：" in out
    assert "Data-exchange gateway" not in out and "Show this message" not in out


def test_a_groups_help_and_its_option_extras_are_chinese() -> None:
    items = CliRunner(env=CHINESE).invoke(cli, ["items", "--help"]).output
    assert "政务服务事项：" in items and "列出政务服务事项。" in items
    listed = CliRunner(env=CHINESE).invoke(cli, ["cases", "list", "--help"]).output
    assert "本部门牵头或协办的办件。" in listed
    assert "输出格式：table 供人阅读" in listed and "[默认:" in listed  # click's extras too


def test_lang_en_gives_english_help_whatever_the_locale() -> None:
    for args in (["--lang", "en", "--help"], ["--lang", "en", "items", "--help"]):
        out = CliRunner(env=CHINESE).invoke(cli, args).output
        assert "Usage:" in out and "Options:" in out and "Show this message and exit." in out
        assert "用法" not in out and "政务服务事项" not in out
    assert "Data-exchange gateway between government departments." in CliRunner(env=ENGLISH).invoke(cli, ["-h"]).output


def test_every_help_paragraph_of_every_command_has_a_chinese_translation() -> None:
    """The extraction (scripts/i18n.py) and the formatter agree on the keys, and none is left in English."""
    english = [m for m in help_messages(cli) if m.isascii()]
    untranslated = [m for m in english if i18n.translate("cli.help", m, "zh-CN") == m]
    assert untranslated == []


def test_example_blocks_keep_their_commands_and_translate_their_heading() -> None:
    command = cli.commands["cases"].commands["create"]  # type: ignore[attr-defined]
    assert isinstance(command, click.Command) and command.help
    blocks = [p for p in paragraphs(command.help) if p.lstrip().startswith("\b")]
    assert blocks and all(message_id(b) not in set(help_messages(cli)) for b in blocks)
    out = CliRunner(env=CHINESE).invoke(cli, ["cases", "create", "--help"]).output
    assert "示例：" in out and "exchange cases create --item restaurant_permit" in out


def test_the_comments_and_free_text_of_every_example_have_a_chinese_translation() -> None:
    texts = sorted(set(example_messages(cli)))
    assert "this shell only" in texts and "left the department" in texts
    assert [t for t in texts if i18n.translate("cli.help.example", t, "zh-CN") == t] == []


def test_a_chinese_help_keeps_the_example_commands_and_translates_their_comments_and_reasons() -> None:
    out = CliRunner(env=CHINESE).invoke(cli, ["console", "disable", "--help"]).output
    assert 'exchange console disable li.na --reason "已调离本部门" --data-dir data' in out
    top = CliRunner(env=CHINESE).invoke(cli, ["--help"]).output
    assert "exchange init --data-dir data            # 新建交换中心：数据库、密钥、CA、管理员配置文件" in top
    assert "a new hub" not in top and "left the department" not in out
