"""`exchange console` commands: accounts of the people who use the web console."""

from __future__ import annotations

import click

from exchange.cli.common import run
from exchange.cli.lifecycle import _settings


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
    from exchange.console.accounts import add_user as create
    from exchange.hub import Hub

    settings = _settings(config, data_dir)

    async def go() -> bool:
        hub = Hub(settings)
        await hub.start()
        try:
            return await create(hub, username, password, role, department, display_name)
        finally:
            await hub.close()

    created = run(go())
    click.echo(f"{'created' if created else 'replaced'} {role} account {username!r} for {department}")
