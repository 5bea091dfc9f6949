"""`exchange adapter` commands."""

from __future__ import annotations

import click


@click.group("adapter")
def adapter() -> None:
    """(adapter: commands come with their issue.)"""
