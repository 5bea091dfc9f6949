"""`exchange audit` commands."""

from __future__ import annotations

import click


@click.group("audit")
def audit() -> None:
    """(audit: commands come with their issue.)"""
