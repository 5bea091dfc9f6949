"""The hub's life: `exchange init`, `exchange serve` and `exchange demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from exchange.cli.common import Profile, fail, run
from exchange.config import Settings, load_settings


def _settings(config: str | None, data_dir: str | None, **overrides: Any) -> Settings:
    from catalog.errors import ExchangeError

    try:
        return load_settings(config, data_dir=data_dir, **overrides)
    except ExchangeError as error:
        fail(error)


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
            click.echo(f"{'ok   ' if finding.ok else 'ERROR'} {finding.text}", err=not finding.ok)
        raise SystemExit(0 if all(f.ok for f in findings) else 2)
    if workers > 1:
        import sys

        from exchange.workers import run_workers, worker_argv

        raise SystemExit(run(run_workers(settings, workers, worker_argv(sys.argv[1:]))))
    from exchange.server import serve_forever

    run(serve_forever(settings, worker=worker_of is not None))


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

    from catalog.errors import ExchangeError
    from exchange.healthcheck import check_health

    try:
        settings = load_settings(config, data_dir=data_dir)
        status = asyncio.run(check_health(settings, address=address, timeout=timeout))
    except ExchangeError as error:
        click.echo(f"error: {error.message}", err=True)
        raise SystemExit(1) from None
    click.echo(status)
    raise SystemExit(0 if status == "SERVING" else 1)


@click.command("migrate")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True), help="Settings file (YAML).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (default ./data).")
def migrate(config: str | None, data_dir: str | None) -> None:
    """Bring the database schema to the newest migration, then exit (a deployment's migration job).

    Hubs migrate at start too; run this first when upgrading several replicas, so none starts on an old schema.
    Safe to run twice, and beside running hubs (PostgreSQL: one migration at a time, by an advisory lock).
    """
    from exchange.storage.db import Database

    settings = _settings(config, data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def upgrade() -> None:
        db = Database(settings.effective_database_url)
        try:
            await db.migrate()
        finally:
            await db.close()

    run(upgrade())
    click.echo(f"database schema at the newest migration ({_head()})")


def _head() -> str:
    from alembic.script import ScriptDirectory

    from exchange.storage.db import alembic_config

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


@click.command("init")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True), help="Settings file (YAML).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (default ./data).")
@click.option(
    "--host", "hosts", multiple=True, default=("localhost", "127.0.0.1"), help="Names in the hub certificate."
)
@click.option("--insecure-dev", is_flag=True, default=None, help="Skip the PKI (development only).")
def init(config: str | None, data_dir: str | None, hosts: tuple[str, ...], insecure_dev: bool | None) -> None:
    """Prepare a data directory: database, hub signing key, CA and certificates, the operator's admin profile."""
    from exchange.bootstrap import initialise

    settings = _settings(config, data_dir, insecure_dev=insecure_dev)
    profile_path = run(initialise(settings, hosts))
    profile = Profile.load(profile_path)
    click.echo(f"initialised {settings.data_dir}")
    click.echo(f"  administrator profile: {profile_path} (department {profile.department}, roles hub_admin)")
    click.echo(f"  start the hub:         exchange serve --data-dir {settings.data_dir}")
    click.echo(f"  then, for example:     exchange departments list --profile {profile_path}")


@click.command("demo")
@click.option("--once", is_flag=True, help="Exit after the scenario instead of serving until Ctrl-C.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Keep the demo's data here (default: a temp dir).")
@click.option("--port", default=50051, show_default=True, help="gRPC port of the demo hub (0 = any free port).")
@click.option("--http-port", default=8080, show_default=True, help="Console port of the demo hub (0 = any).")
@click.option("--seed", default=2026, show_default=True, help="Seed of the synthetic data.")
def demo(once: bool, data_dir: str | None, port: int, http_port: int, seed: int) -> None:
    """Run a hub with demo departments and one application end to end."""
    from exchange.demo.run import run_demo

    run(run_demo(once=once, data_dir=Path(data_dir) if data_dir else None, port=port, http_port=http_port, seed=seed))
