"""The `exchange` command: one group per area, each in its own module."""

from __future__ import annotations

import logging
import os

import click

from exchange import i18n, localtime
from exchange.cli import access, adapter, audit, bench, cases, console, lifecycle, pki, registry


def _language_from_locale() -> str:
    """The language the shell's locale asks for (LC_ALL, LC_MESSAGES, LANG); English when none is supported."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return i18n.normalize(value) or "en"
    return "en"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.option(
    "--lang",
    envvar="EXCHANGE_LANG",
    type=click.Choice(["zh-CN", "en"]),
    default=None,
    help="Language of messages and table headings (default: from LANG, e.g. zh_CN.UTF-8).",
)
def cli(verbose: bool, lang: str | None) -> None:
    """Data-exchange gateway between government departments."""
    i18n.use(lang or _language_from_locale())
    localtime.configure(os.environ.get("EXCHANGE_TIME_ZONE", "") or localtime.DEFAULT_ZONE)
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
    audit.audit,
    adapter.adapter,
    console.console,
    bench.bench,
):
    cli.add_command(command)


def main() -> None:
    cli()
