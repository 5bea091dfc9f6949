"""The WHERE clauses of a list's filters, built one way for every table: a filter left empty is no filter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa


def given(
    equal: Iterable[tuple[sa.ColumnElement[Any], object]] = (),
    *,
    time: sa.ColumnElement[Any] | None = None,
    since_us: int = 0,
    until_us: int = 0,
) -> list[sa.ColumnElement[bool]]:
    """Each column equal to its value where a value is given; `time` in [since_us, until_us), each bound if given."""
    where: list[sa.ColumnElement[bool]] = [column == value for column, value in equal if value]
    if time is not None and since_us:
        where.append(time >= since_us)
    if time is not None and until_us:
        where.append(time < until_us)
    return where
