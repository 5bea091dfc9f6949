"""Extract, merge and compile the gettext catalogues (``make i18n-extract`` / ``make i18n-compile``).

    python scripts/i18n.py extract   # messages.pot from the code, merged into every <lang>/messages.po
    python scripts/i18n.py compile   # every .po to its .mo (committed; tests check they are current)
    python scripts/i18n.py check     # exit 1 when a catalogue is stale, untranslated or not compiled

Messages are marked ``N_("key", "English text")`` or translated at once with ``i18n.translate("key", "text")``
in Python (the key becomes msgctxt), the `exchange` command's help (docstrings and option help) is read
from its click command tree (key ``cli.help``, one message per paragraph), and
``_("text")`` / ``gettext("text")`` in templates. The English catalogue is the source text itself,
so an editor can change wording there without touching code.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2.ext
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "exchange" / "locale"
POT = LOCALE / "messages.pot"
LANGUAGES = ("zh_CN", "en")
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
# `tr(key, text, **values)` translates and formats at once; `Sentence(key, text, **values)` later (exchange/i18n.py).
KEYWORDS = {
    "N_": ((1, "c"), 2),
    "translate": ((1, "c"), 2),
    "tr": ((1, "c"), 2),
    "Sentence": ((1, "c"), 2),
    "_": None,
    "gettext": None,
}
METHODS: list[tuple[str, Any]] = [("**/templates/**.html", jinja2.ext.babel_extract), ("**.py", "python")]


def extract() -> Catalog:
    """Every marked message in exchange/ (Python and templates), as a template catalogue."""
    # A fixed creation date: re-extracting unchanged code leaves the catalogues byte for byte the same.
    template = Catalog(project="exchange-gateway", fuzzy=False, creation_date=_EPOCH)
    found = extract_from_dir(ROOT / "exchange", METHODS, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",))
    for filename, lineno, message, comments, context in found:
        template.add(message, None, [(f"exchange/{filename}", lineno)], auto_comments=comments, context=context)
    for context, message in cli_help():
        template.add(message, None, [("exchange/cli/help.py", 0)], context=context)
    return template


def cli_help() -> list[tuple[str, str]]:
    """The `exchange` command's help paragraphs (docstrings, option help) and the words of its examples
    (comments, quoted free text), each with its key: click holds them, not marked calls."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from exchange.cli import cli
    from exchange.cli.help import EXAMPLE_KEY, HELP_KEY, example_messages, help_messages

    found = {(HELP_KEY, m) for m in help_messages(cli)} | {(EXAMPLE_KEY, m) for m in example_messages(cli)}
    return sorted(found)


def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "exchange.po"


def read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def write(path: Path, catalogue: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    write_po(out, catalogue, width=120, include_lineno=False, omit_header=False, sort_output=True)
    path.write_bytes(out.getvalue())


def merged(template: Catalog, language: str) -> Catalog:
    """The language's catalogue with exactly the template's messages, keeping every translation made."""
    path = po_path(language)
    catalogue = (
        read(path)
        if path.exists()
        else Catalog(locale=language, project="exchange-gateway", fuzzy=False, creation_date=_EPOCH)
    )
    catalogue.update(template, no_fuzzy_matching=True, update_header_comment=False)
    catalogue.obsolete.clear()
    if language == "en":
        for message in catalogue:
            if message.id and not message.string:
                message.string = message.id
    return catalogue


def compiled(language: str) -> bytes:
    out = io.BytesIO()
    write_mo(out, read(po_path(language)), use_fuzzy=False)
    return out.getvalue()


def _keys(catalogue: Iterable[object]) -> set[tuple[str | None, str]]:
    return {(m.context, m.id) for m in catalogue if m.id}  # type: ignore[attr-defined]


def problems() -> list[str]:
    """What is stale or missing: the test suite and `check` fail on any of it."""
    found: list[str] = []
    template = extract()
    for language in LANGUAGES:
        path = po_path(language)
        if not path.exists():
            found.append(f"{path.relative_to(ROOT)} is missing; run `make i18n`")
            continue
        catalogue = read(path)
        for context, msgid in sorted(_keys(template) - _keys(catalogue), key=str):
            found.append(f"{language}: not in the catalogue (run `make i18n-extract`): [{context}] {msgid!r}")
        for context, msgid in sorted(_keys(catalogue) - _keys(template), key=str):
            found.append(f"{language}: no longer in the code (run `make i18n-extract`): [{context}] {msgid!r}")
        for message in catalogue:
            if message.id and (not message.string or message.fuzzy):
                found.append(f"{language}: untranslated: [{message.context}] {message.id!r}")
        mo = path.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != compiled(language):
            found.append(f"{mo.relative_to(ROOT)} is not compiled from its .po; run `make i18n-compile`")
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "extract":
        template = extract()
        write(POT, template)
        for language in LANGUAGES:
            write(po_path(language), merged(template, language))
    elif command == "compile":
        for language in LANGUAGES:
            po_path(language).with_suffix(".mo").write_bytes(compiled(language))
    elif command == "check":
        wrong = problems()
        print("\n".join(wrong) or "catalogues are current and complete")
        return 1 if wrong else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
