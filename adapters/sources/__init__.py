"""Built-in data sources: one department's data behind one dataset, as documents and Arrow batches.

The REST and SQL sources load their drivers (aiohttp, SQLAlchemy) when first used, not when the adapter SDK
is imported: an adapter that serves files never loads them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from adapters.sources.base import Source, UpstreamDataInvalid
from adapters.sources.files import FileSource
from adapters.sources.filters import Condition, RowFilter, parse_filter, to_arrow_expression

if TYPE_CHECKING:
    from adapters.sources.filters import to_sql
    from adapters.sources.rest import RestSource
    from adapters.sources.sql import SqlSource

_LAZY = {
    "RestSource": "adapters.sources.rest",
    "SqlSource": "adapters.sources.sql",
    "to_sql": "adapters.sources.filters",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Condition",
    "FileSource",
    "RestSource",
    "RowFilter",
    "Source",
    "SqlSource",
    "UpstreamDataInvalid",
    "parse_filter",
    "to_arrow_expression",
    "to_sql",
]
