"""`exchange console` commands: accounts of the people who use the web console.

They open the hub's database on this machine (no channel to a running hub): each is an operation of the
policy (``console.user.*``), decided and logged for the local operator, a hub admin of the hub's department."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from exchange import i18n
from exchange.cli.common import emit_rows, output_option, run
from exchange.cli.lifecycle import _settings
from exchange.config import Settings

if TYPE_CHECKING:
    from exchange.app.console_accounts import ConsoleAccounts
    from exchange.auth.identity import Caller

T = TypeVar("T")


@click.group("console")
def console() -> None:
    """The web console (served by `exchange serve` at /console/)."""


@console.command("add-user")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["hub_admin", "dept_admin", "auditor"]),
    help="hub_admin: everything; dept_admin: its own department; auditor: the log, read-only.",
)
@click.option("--department", default="HUB", show_default=True, help="The department the person acts for.")
@click.option("--name", "display_name", default="", help="Full name shown in the console.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="EXCHANGE_CONSOLE_PASSWORD",
    help="At least 12 characters (prompted when not given; or EXCHANGE_CONSOLE_PASSWORD).",
)
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True), help="Settings file (YAML).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (default ./data).")
def add_user(
    username: str,
    role: str,
    department: str,
    display_name: str,
    password: str,
    config: str | None,
    data_dir: str | None,
) -> None:
    """Create (or replace) the console account USERNAME; the password is stored as an argon2id hash."""
    created = run(
        _as_operator(
            _settings(config, data_dir),
            lambda accounts, me: accounts.add_user(me, username, password, role, department, display_name),
        )
    )
    said = (
        i18n.translate("cli.console.created", "created {role} account {username!r} for {department}")
        if created
        else i18n.translate("cli.console.replaced", "replaced {role} account {username!r} for {department}")
    )
    click.echo(said.format(role=role, username=username, department=department))


def _data_options(func: Any) -> Any:
    func = click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (default ./data).")(func)
    return click.option(
        "--config", "config", type=click.Path(dir_okay=False, exists=True), help="Settings file (YAML)."
    )(func)


async def _as_operator(settings: Settings, action: Callable[[ConsoleAccounts, Caller], Awaitable[T]]) -> T:
    """Run `action` on the console's accounts as the local operator (the hub's department, a hub admin)."""
    from exchange.app.console_accounts import ConsoleAccounts
    from exchange.auth.identity import local_operator
    from exchange.hub import Hub

    hub = Hub(settings)
    await hub.start()
    try:
        return await action(ConsoleAccounts(hub), local_operator(settings.hub_department))
    finally:
        await hub.close()


@console.command("users")
@output_option
@_data_options
def users(output: str, config: str | None, data_dir: str | None) -> None:
    """List the console accounts (never their passwords).

    \b
    Examples:
      exchange console users --data-dir data
      exchange console users --data-dir data -o json
    """
    found = run(_as_operator(_settings(config, data_dir), lambda accounts, me: accounts.list_users(me)))
    emit_rows(
        (
            {
                "username": u.username,
                "role": u.role,
                "department": u.department,
                "name": u.display_name,
                "status": "disabled" if u.disabled else "active",
            }
            for u in found
        ),
        ["username", "role", "department", "name", "status"],
        output,
    )


def _change(change: str, username: str, reason: str, config: str | None, data_dir: str | None) -> None:
    settings = _settings(config, data_dir)
    user = run(_as_operator(settings, lambda accounts, me: accounts.change_user(me, username, change, reason)))
    said = {
        "disable": i18n.translate("cli.console.disabled", "disabled {role} account {username!r} of {department}"),
        "enable": i18n.translate("cli.console.enabled", "enabled {role} account {username!r} of {department}"),
        "remove": i18n.translate("cli.console.removed", "removed {role} account {username!r} of {department}"),
    }[change]
    click.echo(said.format(role=user.role, username=username, department=user.department))


def _account_change_command(change: str, summary: str, reason_example: str) -> click.Command:
    """`console CHANGE USERNAME --reason WHY`: one change to an account, kept in the access log with its reason."""

    @click.argument("username")
    @click.option("--reason", required=True, help="Why (kept in the access log).")
    @_data_options
    def command(username: str, reason: str, config: str | None, data_dir: str | None) -> None:
        _change(change, username, reason, config, data_dir)

    example = f'exchange console {change} li.na --reason "{reason_example}" --data-dir data'
    return console.command(change, help=f"{summary}\n\n\b\nExamples:\n  {example}")(command)


disable = _account_change_command(
    "disable",
    "Disable the console account USERNAME: its sessions end and it cannot sign in until enabled.",
    "left the department",
)
enable = _account_change_command("enable", "Enable a disabled console account again.", "back from leave")
remove = _account_change_command(
    "remove",
    "Remove the console account USERNAME and its sessions (the access log keeps what it did).",
    "account no longer needed",
)
