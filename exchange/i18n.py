"""Languages: which one a person or a caller gets, and the gettext catalogues that hold the words.

Every word shown to a person (console, CLI, the LocalizedMessage of a gRPC error) is an English
source string marked with ``N_(context, text)`` where it is defined; ``make i18n-extract`` collects
them into ``exchange/locale/messages.pot`` and ``make i18n-compile`` builds the ``.mo`` files under
``exchange/locale/<lang>/LC_MESSAGES/``. At run time only the standard library's ``gettext`` reads
them. The language of the moment lives in a context variable, so one console request or one gRPC
call never changes another's.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "exchange"
# Language tags as they appear on pages and in accept-language, mapped to gettext catalogue names.
SUPPORTED = {"zh-CN": "zh_CN", "en": "en"}
DEFAULT = "zh-CN"

_current: ContextVar[str] = ContextVar("exchange_language", default=DEFAULT)


def N_(context: str, message: str) -> str:
    """Mark `message` for extraction under `context` (its key); returns it unchanged."""
    return message


def normalize(tag: str) -> str | None:
    """The supported language a tag asks for (``zh``, ``zh_CN.UTF-8``, ``zh-Hans-CN`` → zh-CN), or None."""
    base = tag.strip().split(".")[0].split("@")[0].replace("_", "-").lower()
    if not base:
        return None
    primary = base.split("-")[0]
    if primary == "zh":
        # Traditional-script tags (zh-TW, zh-HK, zh-Hant) still read simplified text better than English.
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def from_accept_language(header: str, default: str | None = None) -> str | None:
    """The best supported language of an HTTP/gRPC accept-language value (q-weights honoured)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = normalize(tag)
        if language and quality > 0:
            weighted.append((-quality, position, language))
    return min(weighted)[2] if weighted else default


@functools.cache
def catalogue(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of a supported language (English falls back to the source strings)."""
    return gettext.translation(DOMAIN, LOCALE_DIR, [SUPPORTED.get(language, "en")], fallback=True)


def current() -> str:
    """The language of the request or command being served."""
    return _current.get()


def use(language: str) -> None:
    """Serve the rest of this context (request, task, command) in `language`."""
    _current.set(language if language in SUPPORTED else DEFAULT)


@contextlib.contextmanager
def using(language: str) -> Iterator[None]:
    """Serve a block in `language`, then return to the previous one."""
    token = _current.set(language if language in SUPPORTED else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def translate(context: str, message: str, language: str | None = None) -> str:
    """`message` (marked under `context`) in `language`, default the current one."""
    return catalogue(language or current()).pgettext(context, message)


def tr(context: str, message: str, /, **values: object) -> str:
    """`message` (marked under `context`) in the current language, its ``{placeholders}`` filled from `values`."""
    return translate(context, message).format(**values)


class Sentence(str):
    """A sentence built for a library's caller in English (the str itself) that a person can read translated.

    ``Sentence(context, template, **values)`` is marked for extraction like ``tr``; code that returns
    English to programs (the client SDK) builds these, and an edge (the CLI) prints ``said()``.
    """

    context: str
    template: str
    values: dict[str, object]

    def __new__(cls, context: str, template: str, /, **values: object) -> Sentence:
        sentence = super().__new__(cls, template.format(**values))
        sentence.context, sentence.template, sentence.values = context, template, values
        return sentence

    def said(self) -> str:
        """The sentence in the current language."""
        return tr(self.context, self.template, **self.values)


def said(text: str) -> str:
    """`text` in the current language when it is a Sentence, else as it is."""
    return text.said() if isinstance(text, Sentence) else text
