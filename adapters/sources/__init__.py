"""Built-in data sources: one department's data behind one dataset, as documents and Arrow batches."""

from adapters.sources.base import Source, UpstreamDataInvalid
from adapters.sources.files import FileSource
from adapters.sources.filters import Condition, RowFilter, parse_filter, to_arrow_expression, to_sql
from adapters.sources.rest import RestSource
from adapters.sources.sql import SqlSource

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
