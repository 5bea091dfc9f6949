"""`exchange console` commands."""

from __future__ import annotations

import click


@click.group("console")
def console() -> None:
    """(console: commands come with their issue.)"""
