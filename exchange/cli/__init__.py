"""The `exchange` command: one group per area, each in its own module.

Exit codes (docs/operations.md, "Exit codes"): 0 done; 1 usage (a wrong option or argument, said by
click); 2 refused or failed, with the hub's reason; 3 no connection to the hub, with a hint.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import click

from exchange import i18n, localtime
from exchange.cli import (
    access,
    adapter,
    audit,
    bench,
    calendar,
    cases,
    console,
    documents,
    fetch,
    lifecycle,
    notify,
    pki,
    profile,
    registry,
    scan,
    supervision,
    tickets,
)
from exchange.cli.examples import EXAMPLES, with_examples
from exchange.cli.help import TranslatingContext
from exchange.cli.messages import EXIT_REFUSED, EXIT_USAGE


def _language_from_locale() -> str:
    """The language the shell's locale asks for (LC_ALL, LC_MESSAGES, LANG); English when none is supported."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return i18n.normalize(value) or "en"
    return "en"


def _use_language(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Serve the command in the --lang language (else the locale's) from the moment the option is read."""
    i18n.use(value or _language_from_locale())
    return value


class ExchangeGroup(click.Group):
    """A group that exits 1 on usage errors and 2 on refusals, whoever runs it (a shell or CliRunner)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # Help is printed while the options are read, before the group's callback chooses the language.
        i18n.use(_language_from_locale())
        if kwargs.get("standalone_mode", True) is False:
            return super().main(*args, **kwargs)
        try:
            return super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.UsageError as error:
            error.show()
            raise SystemExit(EXIT_USAGE) from None
        except click.Abort:
            click.echo(i18n.translate("cli.aborted", "aborted"), err=True)
            raise SystemExit(EXIT_USAGE) from None
        except click.ClickException as error:
            error.show()
            raise SystemExit(EXIT_REFUSED) from None


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 120}


@click.group(cls=ExchangeGroup, context_settings=CONTEXT)
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
@click.option(
    "--lang",
    envvar="EXCHANGE_LANG",
    type=click.Choice(["zh-CN", "en"]),
    default=None,
    is_eager=True,  # so that `--lang en --help` prints English help
    callback=_use_language,
    help="Language of messages, help and table headings (default: from LANG, e.g. zh_CN.UTF-8).",
)
def cli(verbose: bool, lang: str | None) -> None:
    """Data-exchange gateway between government departments.

    \b
    Examples:
      exchange init --data-dir data            # a new hub: database, keys, CA, admin profile
      exchange serve --data-dir data           # run it
      exchange departments list --profile data/admin/profile.yaml
      exchange COMMAND --help                  # every command has examples

    Exit codes: 0 done, 1 usage error, 2 refused or failed (the reason is printed), 3 no connection.
    """
    i18n.use(lang or _language_from_locale())
    localtime.configure(os.environ.get("EXCHANGE_TIME_ZONE", "") or localtime.DEFAULT_ZONE)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    Examples:
      exchange completion bash > ~/.local/share/bash-completion/completions/exchange
      exchange completion zsh > "${fpath[1]}/_exchange"
      exchange completion fish > ~/.config/fish/completions/exchange.fish
      eval "$(exchange completion bash)"       # this shell only
    """
    from click.shell_completion import get_completion_class

    shell_class = get_completion_class(shell)
    assert shell_class is not None  # click ships all three
    click.echo(shell_class(cli, {}, "exchange", "_EXCHANGE_COMPLETE").source())


for command in (
    lifecycle.serve,
    lifecycle.init,
    lifecycle.demo,
    lifecycle.health,
    lifecycle.migrate,
    lifecycle.token,
    profile.profile,
    registry.catalog,
    registry.departments,
    registry.items,
    access.grants,
    access.access_requests,
    access.authz,
    pki.pki,
    cases.cases,
    calendar.calendar,
    fetch.fetch,
    scan.scan,
    documents.verify,
    audit.audit,
    notify.notify,
    adapter.adapter,
    console.console,
    bench.bench,
    supervision.supervision,
    tickets.tickets,
    completion,
):
    cli.add_command(command)


def _finish_help(command: click.Command, path: str = "") -> None:
    """Every help ends with examples; group listings show each command's whole first sentence (no '...');
    help is written in the CLI's language."""
    command.context_class = TranslatingContext
    if command.help and not command.short_help:
        first = command.help.strip().split("\n\n", 1)[0]
        command.short_help = " ".join(first.split())
    if command.help and "Examples:" not in command.help and path in EXAMPLES:
        command.help = with_examples(command.help, EXAMPLES[path])
    if isinstance(command, click.Group) and command.name != "bench":  # bench loads its commands when run
        for name, sub in command.commands.items():
            _finish_help(sub, f"{path} {name}".strip())


_finish_help(cli)


def main() -> None:
    cli()
