"""The `exchange` command: one group per area, each in its own module."""

from __future__ import annotations

import logging

import click

from exchange.cli import access, adapter, audit, bench, cases, console, documents, lifecycle, pki, registry


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def cli(verbose: bool) -> None:
    """Data-exchange gateway between government departments."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)


for command in (
    lifecycle.serve,
    lifecycle.init,
    lifecycle.demo,
    lifecycle.health,
    lifecycle.migrate,
    registry.catalog,
    registry.departments,
    registry.items,
    access.grants,
    access.access_requests,
    access.authz,
    pki.pki,
    cases.cases,
    documents.fetch,
    documents.verify,
    audit.audit,
    adapter.adapter,
    console.console,
    bench.bench,
):
    cli.add_command(command)


def main() -> None:
    cli()
