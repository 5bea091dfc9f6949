"""The hub's life: `exchange init`, `exchange serve` and `exchange demo`."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from exchange import i18n
from exchange.cli.common import Profile, fail, profile_options, run
from exchange.cli.messages import after_init, empty_catalog_steps
from exchange.config import Settings, load_settings

if TYPE_CHECKING:
    from exchange.server import RunningHub


def _settings(config: str | None, data_dir: str | None, **overrides: Any) -> Settings:
    from exchange.errors import ExchangeError

    try:
        return load_settings(config, data_dir=data_dir, **overrides)
    except ExchangeError as error:
        fail(error)


def listening_lines(settings: Settings, running: RunningHub) -> list[str]:
    """Where the hub listens: the gRPC address and the console's URL (https unless insecure_dev)."""
    grpc_host = settings.grpc_listen.rsplit(":", 1)[0]
    mode = "plain text, insecure_dev" if settings.insecure_dev else "mTLS"
    lines = [f"gRPC:    {grpc_host}:{running.grpc_port} ({mode})"]
    if settings.http_listen:
        http_host = settings.http_listen.rsplit(":", 1)[0]
        http_host = "localhost" if http_host in ("0.0.0.0", "127.0.0.1", "[::]") else http_host  # noqa: S104
        scheme = "http" if settings.insecure_dev else "https"
        lines.append(f"console: {scheme}://{http_host}:{running.http_port}/console/")
    return lines


@click.command("serve")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True), help="Settings file (YAML).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (default ./data).")
@click.option(
    "--insecure-dev", is_flag=True, default=None, help="Plain-text gRPC for development. Never in production."
)
@click.option(
    "--check", is_flag=True, help="Check settings, files, ports and the database, then exit (0 when all is well)."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Hub processes sharing the ports (one per core; more than one needs PostgreSQL).",
)
@click.option("--worker-of", type=int, hidden=True, help="Set by --workers: run as one worker of that parent.")
def serve(
    config: str | None,
    data_dir: str | None,
    insecure_dev: bool | None,
    check: bool,
    workers: int,
    worker_of: int | None,
) -> None:
    """Run the hub until SIGTERM; settings from --config and EXCHANGE_* variables.

    Prints where it listens (gRPC and the console's URL) and, while the catalog is empty, the
    first steps of an administrator.

    \b
    Examples:
      exchange serve --data-dir /var/lib/exchange
      exchange serve --config /etc/exchange/hub.yaml --check
      EXCHANGE_DATABASE_URL=postgresql://exchange@db/exchange exchange serve --workers 4
    """
    settings = _settings(config, data_dir, insecure_dev=insecure_dev)
    if check:
        from exchange.preflight import check as preflight

        findings = run(preflight(settings))
        for finding in findings:
            ok, error = i18n.translate("cli.serve.check_ok", "ok"), i18n.translate("cli.serve.check_error", "ERROR")
            label = ok.ljust(len(error)) if finding.ok else error
            click.echo(f"{label} {finding.text}", err=not finding.ok)
        raise SystemExit(0 if all(f.ok for f in findings) else 2)
    if workers > 1:
        import sys

        from exchange.workers import run_workers, worker_argv

        raise SystemExit(run(run_workers(settings, workers, worker_argv(sys.argv[1:]))))
    from exchange.server import serve_forever

    async def ready(running: RunningHub) -> None:
        # The readiness line stays English whatever the language: scripts and tests wait for it.
        click.echo(f"hub {settings.hub_name} serving")  # machine-read
        for line in listening_lines(settings, running):
            click.echo(f"  {line}")
        if not await running.app.catalog.list_datasets(limit=1):
            for line in empty_catalog_steps():
                click.echo(line.replace("DATA_DIR", str(settings.data_dir)))

    # Workers of `--workers N` stay quiet: N copies of the same lines would only confuse.
    worker = worker_of is not None
    run(serve_forever(settings, worker=worker, on_ready=None if worker else ready))


def derived_hosts(extra: tuple[str, ...]) -> tuple[str, ...]:
    """The names a department may dial the hub by: this host's names, loopback, and any --host."""
    names = [*extra, socket.getfqdn(), socket.gethostname(), "localhost", "127.0.0.1"]
    return tuple(dict.fromkeys(n for n in names if n))


@click.command("health")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True), help="Settings file (YAML).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (default ./data).")
@click.option("--address", help="host:port to ask (default: the local gRPC listener of grpc_listen).")
@click.option("--timeout", default=3.0, show_default=True, help="Seconds to wait for the answer.")
def health(config: str | None, data_dir: str | None, address: str | None, timeout: float) -> None:
    """Ask a running hub whether it serves (gRPC health over mTLS with the hub's own client certificate).

    Exits 0 when the hub answers SERVING, 1 otherwise (never 2, which Docker reserves): for container
    HEALTHCHECKs and Kubernetes probes.

    \b
    Examples:
      exchange health --config /etc/exchange/hub.yaml
      exchange health --data-dir data --address 127.0.0.1:50051
    """
    import asyncio

    from exchange.errors import ExchangeError
    from exchange.healthcheck import check_health

    try:
        settings = load_settings(config, data_dir=data_dir)
        status = asyncio.run(check_health(settings, address=address, timeout=timeout))
    except ExchangeError as error:
        click.echo(f"{i18n.translate('cli.error', 'error')}: {error.message}", err=True)
        raise SystemExit(1) from None
    click.echo(status)  # machine-read: SERVING or another health status
    raise SystemExit(0 if status == "SERVING" else 1)


@click.command("migrate")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True), help="Settings file (YAML).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (default ./data).")
def migrate(config: str | None, data_dir: str | None) -> None:
    """Bring the database schema to the newest migration, then exit (a deployment's migration job).

    Hubs migrate at start too; run this first when upgrading several replicas, so none starts on an old schema.
    Safe to run twice, and beside running hubs (PostgreSQL: one migration at a time, by an advisory lock).
    """
    from exchange.app.schema import migrate as migrate_schema

    settings = _settings(config, data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    head = run(migrate_schema(settings))
    said = i18n.translate("cli.migrate.done", "database schema at the newest migration ({head})")
    click.echo(said.format(head=head))


@click.command("init")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True), help="Settings file (YAML).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (default ./data).")
@click.option(
    "--host",
    "hosts",
    multiple=True,
    help="Another name or address departments dial the hub by (repeat); this host's names are always in.",
)
@click.option("--insecure-dev", is_flag=True, default=None, help="Skip the PKI (development only).")
@click.option("--admin-user", default="admin", show_default=True, help="The first console administrator's account.")
@click.option(
    "--admin-password-file",
    type=click.Path(dir_okay=False, exists=True),
    help="Read its password from this file (default: a one-time password is made and printed).",
)
def init(
    config: str | None,
    data_dir: str | None,
    hosts: tuple[str, ...],
    insecure_dev: bool | None,
    admin_user: str,
    admin_password_file: str | None,
) -> None:
    """Prepare a data directory: database, hub signing key, CA and certificates, the admin profile and account.

    The hub's server certificate names this host (its FQDN and host name), localhost, 127.0.0.1
    and every --host. A console hub_admin account is created once, with a printed one-time
    password unless --admin-password-file gives one.

    \b
    Examples:
      exchange init --data-dir data
      exchange init --data-dir /var/lib/exchange --host hub.example.gov --host 10.0.0.5
      exchange init --data-dir data --admin-password-file /run/secrets/console-admin
    """
    from exchange.bootstrap import initialise

    settings = _settings(config, data_dir, insecure_dev=insecure_dev)
    names = derived_hosts(hosts)
    profile_path = run(initialise(settings, names))
    profile = Profile.load(profile_path)
    click.echo(i18n.translate("cli.init.done", "initialised {path}").format(path=settings.data_dir))
    if not settings.insecure_dev:
        certificate = i18n.translate("cli.init.certificate", "  hub certificate for:    {names}")
        click.echo(certificate.format(names=", ".join(names)))
    admin_profile = i18n.translate(
        "cli.init.profile", "  administrator profile:  {path} (department {department}, roles hub_admin)"
    )
    click.echo(admin_profile.format(path=profile_path, department=profile.department))
    password = Path(admin_password_file).read_text(encoding="utf-8").strip() if admin_password_file else ""
    made = run(_first_console_admin(settings, admin_user, password or secrets.token_urlsafe(12)))
    if made and not password:
        account = i18n.translate(
            "cli.init.account", "  console account:        {user} / {password} (shown once: note it now)"
        )
        click.echo(account.format(user=admin_user, password=made))
    elif made:
        account = i18n.translate("cli.init.account_file", "  console account:        {user} (password from {path})")
        click.echo(account.format(user=admin_user, path=admin_password_file))
    click.echo(i18n.translate("cli.init.next", "next:"))
    for line in after_init(str(settings.data_dir), str(profile_path)):
        click.echo(line)


async def _first_console_admin(settings: Settings, username: str, password: str) -> str:
    """Create the first hub_admin console account unless one exists; return its password ('' if none made)."""
    from exchange.app.console_accounts import ConsoleAccounts
    from exchange.auth.identity import local_operator
    from exchange.hub import Hub

    hub = Hub(settings)
    await hub.start()
    try:
        accounts = ConsoleAccounts(hub)
        if await accounts.has_user(username):
            return ""
        me = local_operator(settings.hub_department)
        await accounts.add_user(me, username, password, "hub_admin", settings.hub_department, "Hub administrator")
        return password
    finally:
        await hub.close()


@click.command("demo")
@click.option("--once", is_flag=True, help="Exit after the scenario instead of serving until Ctrl-C.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Keep the demo's data here (default: a temp dir).")
@click.option("--port", default=50051, show_default=True, help="gRPC port of the demo hub (0 = any free port).")
@click.option("--http-port", default=8080, show_default=True, help="Console port of the demo hub (0 = any).")
@click.option("--seed", default=2026, show_default=True, help="Seed of the synthetic data.")
def demo(once: bool, data_dir: str | None, port: int, http_port: int, seed: int) -> None:
    """Run a hub with demo departments and one application end to end.

    \b
    Examples:
      exchange demo --once                    # the scenario, then exit
      exchange demo --port 0 --http-port 0    # keep serving on free ports
    """
    from exchange.demo.run import run_demo

    run(run_demo(once=once, data_dir=Path(data_dir) if data_dir else None, port=port, http_port=http_port, seed=seed))


@click.command("token")
@profile_options
@click.option("--ttl", default=300, show_default=True, help="Seconds the token is valid (at most the hub's limit).")
def token(profile: Profile, ttl: int) -> None:
    """Print a fresh token for the profile's identity, for other gRPC tools such as grpcurl.

    The hub accepts each token on one connection only: mint one per tool invocation.

    \b
    Examples:
      exchange token --profile samr/profile.yaml
      grpcurl -cacert ca.crt -cert SAMR.crt -key SAMR.key \\
        -H "authorization: Bearer $(exchange token --profile samr/profile.yaml)" \\
        hub:50051 exchange.v1.CatalogService/ListDatasets
    """
    from exchange.errors import ExchangeError

    try:
        click.echo(profile.token(ttl))
    except ExchangeError as error:
        fail(error)
