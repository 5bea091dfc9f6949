"""`exchange access` commands."""

from __future__ import annotations

import click


@click.group("grants")
def grants() -> None:
    """(grants: commands come with their issue.)"""


@click.group("access-requests")
def access_requests() -> None:
    """(access-requests: commands come with their issue.)"""


@click.group("authz")
def authz() -> None:
    """(authz: commands come with their issue.)"""
