"""`exchange cases` commands."""

from __future__ import annotations

import click


@click.group("cases")
def cases() -> None:
    """(cases: commands come with their issue.)"""
