"""What a caller sends as text, read alike at every edge: a page token (gRPC List and Query calls, the
console's log pages) and a spec an administrator wrote (RegisterDataset and its kin, the console's upload)."""

from __future__ import annotations

import re
from typing import Any

from catalog.yaml_io import load_spec_text
from exchange.errors import FieldViolation, InvalidArgument
from exchange.status import quote

# Our tokens are positions we issued: ASCII digits only, and small enough for any database's 64-bit integer.
_PAGE_TOKEN = re.compile(r"[0-9]{1,18}")


def parse_page_token(token: str) -> int | None:
    """The position a page token holds (None: the first page); the one parser for every List and Query RPC.

    `str.isdigit` accepts '²' and Arabic-Indic digits, and 19 digits overflow a database integer: both
    would fail deep inside the query as INTERNAL. Anything but a token we issued is the caller's mistake.
    """
    if not token:
        return None
    if not _PAGE_TOKEN.fullmatch(token):
        raise InvalidArgument(
            f"page_token {quote(token)} is not one this server issued; pass back next_page_token unchanged "
            "(empty for the first page)",
            reason="PAGE_TOKEN_INVALID",
            violations=[FieldViolation("page.page_token", "a next_page_token from this server, or empty")],
        )
    return int(token)


def spec_from_text(text: str, kind: str) -> dict[str, Any]:
    """A spec written by an administrator (YAML or JSON text), tagged or bare."""
    data = load_spec_text(text, "<request>")
    if "spec" in data and "kind" in data and data.get("kind") in ("Dataset", "Department", "ServiceItem"):
        if data["kind"] != kind:
            raise InvalidArgument(f"expected a {kind} spec, got a {data['kind']} spec", reason="WRONG_SPEC_KIND")
        spec = data["spec"]
        if not isinstance(spec, dict):
            raise InvalidArgument("spec must be a mapping", reason="MALFORMED_FILE")
        return spec
    return data
