"""`--help` in the CLI's language: command docstrings and option help looked up in the catalogue.

click reads help text once, at import, in English. The English stays the source (the msgid, under the
key ``cli.help``, one message per paragraph with its whitespace collapsed); the help formatter below
looks each paragraph up when help is printed. ``scripts/i18n.py extract`` collects the same
paragraphs from the command tree (`help_messages`), so a new command or option fails
tests/unit/i18n until it is translated. Example blocks (``\\b`` paragraphs) are commands and stay as
written, but for their "Examples:" heading, their ``# comments`` and the free text they quote
(``--reason "left the department"``), which are looked up under the key ``cli.help.example``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager

import click

from exchange import i18n
from exchange.i18n import N_

HELP_KEY = "cli.help"
EXAMPLE_KEY = "cli.help.example"
# In an example line: the comment after " # ", and quoted free text (words with a space, no shell variable).
_COMMENT = re.compile(r"(?<=\s)#\s+(?P<text>\S.*)$")
_QUOTED = re.compile(r"""(?P<quote>["'])(?P<text>[^"'$]*[A-Za-z][^"'$]* [^"'$]*)(?P=quote)""")
# click's own words around the help text (click translates them with its own, absent, catalogue).
SECTIONS = {
    "Options": N_("cli.help.section", "Options"),
    "Commands": N_("cli.help.section", "Commands"),
    "Arguments": N_("cli.help.section", "Arguments"),
}
USAGE = N_("cli.help.usage", "Usage:")
EXAMPLES = N_("cli.help.examples", "Examples:")
HELP_OPTION = "Show this message and exit."
# click appends "  [default: x; required]" to an option's help.
_EXTRAS = re.compile(r"^(?P<help>.*?)\s*\[(?P<extras>[^\[\]]*)\]$", re.S)
EXTRA_WORDS = {
    "default": N_("cli.help.extra", "default"),
    "required": N_("cli.help.extra", "required"),
    "env var": N_("cli.help.extra", "env var"),
}


def message_id(paragraph: str) -> str:
    """The catalogue's key for a paragraph of help: its words, whitespace collapsed."""
    return " ".join(paragraph.split())


def paragraphs(text: str) -> list[str]:
    """A help text's paragraphs (separated by blank lines)."""
    return [p for p in re.split(r"\n\s*\n", text.strip("\n")) if p.strip()]


def example_texts(paragraph: str) -> Iterator[str]:
    """The words of an example block a person reads: each line's comment and the free text it quotes."""
    for line in paragraph.splitlines():
        command, comment = _split_comment(line)
        yield from (found.group("text") for found in _QUOTED.finditer(command))
        if comment:
            yield comment


def _split_comment(line: str) -> tuple[str, str]:
    found = _COMMENT.search(line)
    return (line[: found.start()], found.group("text")) if found else (line, "")


def _translate_example_line(line: str) -> str:
    command, comment = _split_comment(line)

    def quoted(found: re.Match[str]) -> str:
        return found.group("quote") + i18n.translate(EXAMPLE_KEY, found.group("text")) + found.group("quote")

    command = _QUOTED.sub(quoted, command)
    return f"{command}# {i18n.translate(EXAMPLE_KEY, comment)}" if comment else command


def translate_paragraph(paragraph: str) -> str:
    """One paragraph in the CLI's language; an example block keeps its commands, translates the rest."""
    if paragraph.lstrip().startswith("\b"):
        examples = i18n.translate("cli.help.examples", EXAMPLES)
        paragraph = re.sub(r"^(\s*)Examples:", lambda m: m.group(1) + examples, paragraph, count=1, flags=re.M)
        if i18n.current() == "en":
            return paragraph
        return "\n".join(_translate_example_line(line) for line in paragraph.split("\n"))
    if i18n.current() == "en":
        return paragraph
    translated = i18n.translate(HELP_KEY, message_id(paragraph))
    return paragraph if translated == message_id(paragraph) else translated


def translate_help(text: str) -> str:
    """A whole help text (docstring or option help) in the CLI's language."""
    if i18n.current() == "en" and "\b" not in text:
        return text
    return "\n\n".join(translate_paragraph(p) for p in paragraphs(text))


def _translate_option_help(text: str) -> str:
    """An option's help as click composed it: the help, then its bracketed extras (default, required)."""
    found = _EXTRAS.match(text)
    if not found or i18n.current() == "en":
        return translate_help(text) if text else text
    extras = "; ".join(_translate_extra(e) for e in found.group("extras").split("; "))
    help_text = translate_help(found.group("help")) if found.group("help") else ""
    return f"{help_text}  [{extras}]" if help_text else f"[{extras}]"


def _translate_extra(extra: str) -> str:
    word, colon, rest = extra.partition(":")
    source = EXTRA_WORDS.get(word.strip())
    if source is None:
        return extra
    return i18n.translate("cli.help.extra", source) + colon + rest


class TranslatingHelpFormatter(click.HelpFormatter):
    """click's help formatter, writing help text, option help and headings in the CLI's language."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        if prefix is None:
            prefix = i18n.translate("cli.help.usage", USAGE) + " "
        super().write_usage(prog, args, prefix)

    def section(self, name: str) -> AbstractContextManager[None]:  # type: ignore[override]
        source = SECTIONS.get(name)
        return super().section(i18n.translate("cli.help.section", source) if source else name)

    def write_text(self, text: str) -> None:
        super().write_text(translate_help(text))

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(term, _translate_option_help(text)) for term, text in rows], col_max, col_spacing)


class TranslatingContext(click.Context):
    """A context whose help is written in the CLI's language."""

    formatter_class = TranslatingHelpFormatter


def _commands(command: click.Command) -> Iterator[click.Command]:
    """A command and every command under it."""
    yield command
    if isinstance(command, click.Group) and command.name != "bench":  # bench loads its commands when run
        for sub in command.commands.values():
            yield from _commands(sub)


def help_messages(command: click.Command) -> Iterator[str]:
    """Every help paragraph of a command tree (docstrings, short help, option help), as catalogue keys."""
    for each in _commands(command):
        for text in (each.help or "", each.short_help or ""):
            for paragraph in paragraphs(text):
                if not paragraph.lstrip().startswith("\b"):
                    yield message_id(paragraph)
        for param in each.params:
            help_text = getattr(param, "help", None)
            if help_text:
                yield message_id(help_text)
    yield HELP_OPTION


def example_messages(command: click.Command) -> Iterator[str]:
    """Every comment and quoted free text of the example blocks of a command tree (key ``cli.help.example``)."""
    for each in _commands(command):
        for paragraph in paragraphs(each.help or ""):
            if paragraph.lstrip().startswith("\b"):
                yield from example_texts(paragraph)
