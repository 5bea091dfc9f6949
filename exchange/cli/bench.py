"""`exchange bench` commands."""

from __future__ import annotations

import click


@click.group("bench")
def bench() -> None:
    """(bench: commands come with their issue.)"""
