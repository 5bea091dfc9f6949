"""`exchange adapter` commands: run a department's adapter, check its configuration, make its signing key."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from exchange import i18n
from exchange.cli.common import EXISTING_FILE, fail, print_table, run

if TYPE_CHECKING:
    from adapters.config import AdapterConfig


def _config(path: str) -> AdapterConfig:
    """The validated configuration, or the problems printed and exit 2."""
    from adapters.config import load_adapter_config
    from exchange.errors import ExchangeError

    try:
        return load_adapter_config(path)
    except ExchangeError as error:
        fail(error)


# Both commands read the same file.
config_option = click.option(
    "--config", "config_path", required=True, type=EXISTING_FILE, help="Adapter config (YAML)."
)


@click.group("adapter")
def adapter() -> None:
    """Run and check department adapters (the Provider service next to a department's own system)."""


@adapter.command("serve")
@config_option
@click.option("--listen", help="host:port to listen on instead of the config's (port 0 = any free port).")
def serve(config_path: str, listen: str | None) -> None:
    """Serve the Provider gRPC service until SIGTERM; prints 'adapter DEPT serving on port N' when ready."""
    from adapters.server import RunningAdapter, serve_until_signalled, start_adapter

    cfg = _config(config_path)

    def ready(running: RunningAdapter) -> None:
        mode = "plain text (insecure_dev)" if cfg.tls is None else f"mTLS, admits {cfg.tls.hub_identity} only"
        # The readiness line stays English whatever the language: scripts and the demo wait for it.
        click.echo(f"adapter {cfg.department} serving on port {running.port} ({mode})", nl=True)  # machine-read

    async def main() -> None:
        running = await start_adapter(cfg, listen=listen)
        await serve_until_signalled(running, ready)

    run(main())


@adapter.command("check")
@config_option
@click.option("--key", "keys", multiple=True, help="Look up this key in every dataset (repeatable).")
def check(config_path: str, keys: tuple[str, ...]) -> None:
    """Validate a configuration, open every source, and optionally look keys up (nothing is served)."""
    from adapters.config import load_signer
    from adapters.sdk import SourceAdapter

    cfg = _config(config_path)
    found = i18n.translate("cli.adapter.found", "found")
    not_found = i18n.translate("cli.adapter.not_found", "not found")

    async def main() -> list[dict[str, str]]:
        load_signer(cfg)
        adapter_ = SourceAdapter.from_config(cfg)
        rows = []
        try:
            for code, ds in adapter_.datasets.items():
                row = {
                    "dataset": code,
                    "version": ds.version,
                    "kind": ds.kind.value,
                    "source": adapter_.source_kinds[code],
                }
                for key in keys:
                    _, _, document = await adapter_.checked_lookup(code, key)
                    row[key] = found if document else not_found
                rows.append(row)
        finally:
            await adapter_.close()
        return rows

    rows = run(main())
    print_table(rows, ["dataset", "version", "kind", "source", *keys])
    click.echo(
        i18n.tr(
            "cli.adapter.valid",
            "configuration {path} is valid for department {department}",
            path=config_path,
            department=cfg.department,
        )
    )


@adapter.command("keygen")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Where to write the private key (PEM).")
def keygen(out: str) -> None:
    """Make an Ed25519 document-signing key (and OUT.pub); prints its kid and the public key to register.

    The adapter signs every document it issues with this key; the hub and anyone holding a copy
    verify it. It is not the department's token key, which signs its calls to the hub
    (`exchange departments keygen`).
    """
    from exchange.auth.keys import generate_ed25519, key_id, public_key_to_pem, write_private_key

    path = Path(out)
    if path.exists():
        raise click.ClickException(
            i18n.tr("cli.adapter.key_exists", "{path} exists; refusing to overwrite a signing key", path=path)
        )
    key = generate_ed25519()
    write_private_key(path, key)
    public = path.with_name(path.name + ".pub")
    public.write_text(public_key_to_pem(key), encoding="utf-8")
    click.echo(i18n.tr("cli.adapter.kid", "kid: {kid}", kid=key_id(key.public_key())))
    click.echo(
        i18n.tr(
            "cli.adapter.public_key",
            "public key: {path} (register it: exchange departments add-key DEPT {path} --use signing)",
            path=public,
        )
    )
    click.echo(public_key_to_pem(key), nl=False)
