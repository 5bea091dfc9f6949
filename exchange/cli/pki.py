"""`exchange pki`: the hub as its own small certificate authority (CA, server certificate, department certificates)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from catalog.errors import ExchangeError
from exchange.auth.pki import (
    certificate_fingerprint,
    init_pki,
    issue_department_certificate,
    issue_server_certificate,
)
from exchange.cli.common import fail

T = TypeVar("T")
DEFAULT_DIR = "data/pki"


def run_sync(step: Callable[[], T]) -> T:
    """Run one step; a domain error becomes a readable message and exit status 2."""
    try:
        return step()
    except ExchangeError as error:
        fail(error)


@click.group("pki")
def pki() -> None:
    """Certificates for TLS and mTLS: make the hub's CA, issue department client certificates."""


@pki.command("init")
@click.option("--dir", "directory", default=DEFAULT_DIR, show_default=True, type=click.Path(file_okay=False))
@click.option("--hub-name", default="exchange-hub", show_default=True, help="Common name of the hub's certificate.")
@click.option("--host", "hosts", multiple=True, help="Host name or address clients dial (repeat; default localhost).")
@click.option("--days", default=825, show_default=True, help="Validity of the server certificate.")
@click.option("--force", is_flag=True, help="Replace an existing CA (every issued certificate stops working).")
def pki_init(directory: str, hub_name: str, hosts: tuple[str, ...], days: int, force: bool) -> None:
    """Create the CA (ca.key, ca.crt) and the hub's server certificate (server.key, server.crt)."""
    paths = run_sync(
        lambda: init_pki(
            Path(directory), hub_name=hub_name, hosts=hosts or ("localhost", "127.0.0.1"), days=days, force=force
        )
    )
    click.echo(f"CA:     {paths.ca_cert} (key {paths.ca_key}: keep it offline if you can)")
    click.echo(f"server: {paths.server_cert} for {', '.join(hosts or ('localhost', '127.0.0.1'))}")
    click.echo(f"fingerprint of the CA: {certificate_fingerprint(paths.ca_cert.read_bytes())}")


@pki.command("issue")
@click.argument("department")
@click.option("--dir", "directory", default=DEFAULT_DIR, show_default=True, type=click.Path(file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Where to write DEPARTMENT.key/.crt.")
@click.option("--days", default=365, show_default=True, help="Validity of the certificate.")
def pki_issue(department: str, directory: str, out_dir: str | None, days: int) -> None:
    """Issue a client certificate for DEPARTMENT (its code in the CN and a urn:exchange:department: URI)."""
    key_path, cert_path = run_sync(
        lambda: issue_department_certificate(
            Path(directory), department, days=days, out_dir=Path(out_dir) if out_dir else None
        )
    )
    click.echo(f"certificate: {cert_path}")
    click.echo(f"key:         {key_path} (hand it to {department} only)")
    click.echo(f"fingerprint: {certificate_fingerprint(cert_path.read_bytes())}")


@pki.command("issue-server")
@click.argument("name")
@click.option("--host", "hosts", multiple=True, required=True, help="Host name or address the hub dials (repeat).")
@click.option("--dir", "directory", default=DEFAULT_DIR, show_default=True, type=click.Path(file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Where to write NAME.key/.crt.")
@click.option("--days", default=365, show_default=True, help="Validity of the certificate.")
def pki_issue_server(name: str, hosts: tuple[str, ...], directory: str, out_dir: str | None, days: int) -> None:
    """Issue a server certificate for a department's adapter, so the hub reaches it over mTLS."""
    key_path, cert_path = run_sync(
        lambda: issue_server_certificate(
            Path(directory), name, hosts=hosts, days=days, out_dir=Path(out_dir) if out_dir else None
        )
    )
    click.echo(f"certificate: {cert_path} for {', '.join(hosts)}")
    click.echo(f"key:         {key_path}")
