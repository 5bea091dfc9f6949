"""Every line the CLI prints for a person is a marked message: no English sentence is written into exchange/cli.

What `click.echo`/`click.secho` print and what click's exceptions say may hold values (ids, paths, data) and
text from the catalogue (`i18n.translate`, `i18n.tr`, `N_`), but no words of their own. A line that
scripts read (a readiness line) is marked ``# machine-read`` and stays English on purpose.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import exchange.cli

CLI = Path(exchange.cli.__file__).parent
PRINTERS = {"echo", "secho", "ClickException", "BadParameter", "UsageError"}
WORD = re.compile(r"[A-Za-z]{2,}")


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def words_of_its_own(node: ast.AST) -> list[str]:
    """The string literals that make up a printed expression's text, but for the English source of a lookup.

    Text is a literal, an f-string's literal parts, either side of ``+`` or of a conditional, and the
    template of ``.format``; the arguments of other calls are values (``Path(d) / "crl.pem"``, an id).
    """
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) and WORD.search(node.value) else []
    if isinstance(node, ast.Call):
        if _name(node) == "format" and isinstance(node.func, ast.Attribute):
            return words_of_its_own(node.func.value)
        return []
    if isinstance(node, ast.JoinedStr):
        return [text for part in node.values for text in words_of_its_own(part)]
    if isinstance(node, ast.FormattedValue):
        return words_of_its_own(node.value)  # the format spec (`:x`, `.2f`) is no text
    if isinstance(node, ast.BinOp):
        return words_of_its_own(node.left) + words_of_its_own(node.right)
    if isinstance(node, ast.IfExp):
        return words_of_its_own(node.body) + words_of_its_own(node.orelse)
    return []


def unmarked_output(source: str) -> list[tuple[int, str]]:
    """(line, text) of every printed English literal in a module's source."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _name(node) in PRINTERS and node.args:
            if "# machine-read" in lines[node.lineno - 1]:
                continue
            found += [(node.lineno, text) for text in words_of_its_own(node.args[0])]
    return found


def test_the_check_finds_an_english_line_and_passes_a_marked_one() -> None:
    source = (
        "click.echo(f'wrote {path}; check it')\n"
        "click.echo(i18n.tr('cli.x', 'wrote {path}', path=path))\n"
        "click.echo(f'{case.id}  v{case.version}  {n:x}')\n"
        "click.echo(f'hub {name} serving')  # machine-read\n"
        "raise click.UsageError('give one FILE')\n"
        "click.echo(f\"{'ok' if fine else 'ERROR'} {text}\")\n"
        "click.echo('kid: ' + kid)\n"
        "click.echo(shell(cli, 'exchange').source())\n"
    )
    expected = [(1, "wrote "), (1, "; check it"), (5, "give one FILE"), (6, "ok"), (6, "ERROR"), (7, "kid: ")]
    assert unmarked_output(source) == expected


def test_every_line_the_cli_prints_for_a_person_is_a_marked_message() -> None:
    unmarked = [
        f"{path.name}:{line}: {text!r}"
        for path in sorted(CLI.glob("*.py"))
        for line, text in unmarked_output(path.read_text(encoding="utf-8"))
    ]
    assert unmarked == []
