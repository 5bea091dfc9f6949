"""`exchange pki` commands."""

from __future__ import annotations

import click


@click.group("pki")
def pki() -> None:
    """(pki: commands come with their issue.)"""
