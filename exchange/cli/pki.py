"""`exchange pki`: the hub as its own small certificate authority: one profile per role, and the CRL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from exchange import i18n, localtime
from exchange.auth.pki import (
    CRL_DAYS,
    DEFAULT_HUB_NAME,
    DEFAULT_ROOT_NAME,
    INTERMEDIATE_DAYS,
    ROOT_CRL_DAYS,
    ROOT_DAYS,
    adapter_identity,
    certificate_fingerprint,
    expiring_certificates,
    hub_identity,
    init_pki,
    init_root,
    install_intermediate,
    issue_adapter_certificate,
    issue_department_certificate,
    issue_document_signing_certificate,
    issue_hub_client_certificate,
    issue_server_certificate,
    refresh_root_crl,
    renew_department_certificate,
    request_intermediate,
    revocation_reason,
    revoke_certificate,
    revoke_intermediate,
    sign_intermediate,
    write_crl,
)
from exchange.cli.common import emit_rows, fail, output_option
from exchange.errors import ExchangeError

T = TypeVar("T")
DEFAULT_DIR = "data/pki"


dir_option = click.option(
    "--dir", "directory", default=DEFAULT_DIR, show_default=True, type=click.Path(file_okay=False)
)
hosts_dialled = click.option(
    "--host", "hosts", multiple=True, required=True, help="Host name or address the hub dials (repeat)."
)


def out_option(files: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """`--out`: the folder to write FILES to (default: --dir)."""
    return click.option("--out", "out_dir", type=click.Path(file_okay=False), help=f"Where to write {files}.")


def _folder(out_dir: str | None) -> Path | None:
    return Path(out_dir) if out_dir else None


def run_sync(step: Callable[[], T]) -> T:
    """Run one step; a domain error becomes a readable message and exit status 2."""
    try:
        return step()
    except ExchangeError as error:
        fail(error)


@click.group("pki")
def pki() -> None:
    """Certificates for TLS and mTLS: the CA, the hub's, departments' and adapters' certificates, the CRL."""


@pki.command("init")
@dir_option
@click.option("--hub-name", default="exchange-hub", show_default=True, help="Common name of the hub's certificate.")
@click.option("--host", "hosts", multiple=True, help="Host name or address clients dial (repeat; default localhost).")
@click.option("--days", default=825, show_default=True, help="Validity of the server certificate.")
@click.option("--force", is_flag=True, help="Replace an existing CA (every issued certificate stops working).")
def pki_init(directory: str, hub_name: str, hosts: tuple[str, ...], days: int, force: bool) -> None:
    """Create the CA (ca.key, ca.crt), the hub's server certificate (server.*) and client certificate (hub-client.*)."""
    paths = run_sync(
        lambda: init_pki(
            Path(directory), hub_name=hub_name, hosts=hosts or ("localhost", "127.0.0.1"), days=days, force=force
        )
    )
    said = i18n.translate(
        "cli.pki.init",
        "CA:     {ca} (key {ca_key}: keep it offline if you can)\n"
        "server: {server} for {hosts}\n"
        "client: {client} ({identity}: what adapters admit)\n"
        "fingerprint of the CA: {fingerprint}",
    )
    click.echo(
        said.format(
            ca=paths.ca_cert,
            ca_key=paths.ca_key,
            server=paths.server_cert,
            hosts=", ".join(hosts or ("localhost", "127.0.0.1")),
            client=paths.hub_client_cert,
            identity=hub_identity(hub_name),
            fingerprint=certificate_fingerprint(paths.ca_cert.read_bytes()),
        )
    )


@pki.command("issue")
@click.argument("department")
@dir_option
@out_option("DEPARTMENT.key/.crt")
@click.option("--days", default=365, show_default=True, help="Validity of the certificate.")
def pki_issue(department: str, directory: str, out_dir: str | None, days: int) -> None:
    """Issue a client certificate for DEPARTMENT (its code in the CN and a urn:exchange:department: URI)."""
    key_path, cert_path = run_sync(
        lambda: issue_department_certificate(Path(directory), department, days=days, out_dir=_folder(out_dir))
    )
    said = i18n.translate(
        "cli.pki.issued",
        "certificate: {cert}\nkey:         {key} (hand it to {department} only)\nfingerprint: {fingerprint}",
    )
    click.echo(
        said.format(
            cert=cert_path,
            key=key_path,
            department=department,
            fingerprint=certificate_fingerprint(cert_path.read_bytes()),
        )
    )


@pki.command("renew")
@click.argument("department")
@dir_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Where DEPARTMENT.key/.crt are kept.")
@click.option("--days", default=365, show_default=True, help="Validity of the new certificate.")
def pki_renew(department: str, directory: str, out_dir: str | None, days: int) -> None:
    """Renew DEPARTMENT's client certificate: a new key and certificate naming the same department."""
    renewal = run_sync(
        lambda: renew_department_certificate(Path(directory), department, days=days, out_dir=_folder(out_dir))
    )
    click.echo(
        i18n.translate("cli.pki.renewed", "new certificate: {cert} (key {key}; hand both to {department})").format(
            cert=renewal.certificate, key=renewal.key, department=department
        )
    )
    if renewal.previous is not None and renewal.previous_serial is not None:
        click.echo(
            i18n.translate(
                "cli.pki.renewed_previous",
                "previous: {path}; once {department} uses the new one: exchange pki revoke {path} --reason superseded",
            ).format(path=renewal.previous, department=department)
        )


@pki.command("expiring")
@click.option("--days", default=30, show_default=True, help="List certificates expiring within this many days.")
@dir_option
@click.option("--also", "others", multiple=True, type=click.Path(file_okay=False), help="Another folder to search.")
@output_option
def pki_expiring(days: int, directory: str, others: tuple[str, ...], output: str) -> None:
    """List the certificates (department, adapter, hub, CA) under --dir that expire within --days, soonest first."""
    found = expiring_certificates([Path(directory), *(Path(o) for o in others)], days=days)
    rows = [
        {
            "identity": item.identity,
            "days_to_expiry": f"{item.days_left:.1f}",
            # Local time with its zone: readable in a table, ISO 8601 with the offset for scripts.
            "until": (
                localtime.show(item.not_after)
                if output == "table"
                else item.not_after.astimezone(localtime.zone()).isoformat(timespec="seconds")
            ),
            "certificate": f"{item.serial:x}",
            "file": str(item.path),
        }
        for item in found
    ]
    if not rows and output == "table":
        click.echo(
            i18n.translate("cli.pki.none_expiring", "no certificate expires within {days} days").format(days=days)
        )
        return
    emit_rows(rows, ["identity", "days_to_expiry", "until", "certificate", "file"], output)


@pki.command("issue-server")
@click.argument("name")
@hosts_dialled
@dir_option
@out_option("NAME.key/.crt")
@click.option("--days", default=365, show_default=True, help="Validity of the certificate.")
def pki_issue_server(name: str, hosts: tuple[str, ...], directory: str, out_dir: str | None, days: int) -> None:
    """Issue a plain server certificate (no department identity; adapters use issue-adapter)."""
    key_path, cert_path = run_sync(
        lambda: issue_server_certificate(Path(directory), name, hosts=hosts, days=days, out_dir=_folder(out_dir))
    )
    said = i18n.tr(
        "cli.pki.server_issued",
        "certificate: {cert} for {hosts}\nkey:         {key}",
        cert=cert_path,
        hosts=", ".join(hosts),
        key=key_path,
    )
    click.echo(said)


@pki.command("issue-adapter")
@click.argument("department")
@hosts_dialled
@dir_option
@out_option("DEPARTMENT-adapter.key/.crt")
@click.option("--days", default=365, show_default=True, help="Validity of the certificate.")
def pki_issue_adapter(department: str, hosts: tuple[str, ...], directory: str, out_dir: str | None, days: int) -> None:
    """Issue DEPARTMENT's adapter server certificate: the hub calls that adapter only if it presents this."""
    key_path, cert_path = run_sync(
        lambda: issue_adapter_certificate(Path(directory), department, hosts=hosts, days=days, out_dir=_folder(out_dir))
    )
    said = i18n.tr(
        "cli.pki.adapter_issued",
        "certificate: {cert} for {hosts} ({identity})\n"
        "key:         {key} (for {department}'s adapter only)\n"
        "fingerprint: {fingerprint}",
        cert=cert_path,
        hosts=", ".join(hosts),
        identity=adapter_identity(department),
        key=key_path,
        department=department,
        fingerprint=certificate_fingerprint(cert_path.read_bytes()),
    )
    click.echo(said)


def _hub_certificate_command(
    name: str, issue: Callable[..., tuple[Path, Path]], files: str, settings: str, summary: str
) -> click.Command:
    """`pki NAME`: (re-)issue one of the hub's own certificates and say which settings name its files."""

    @click.option("--hub-name", default=DEFAULT_HUB_NAME, show_default=True, help="The hub's name (setting hub_name).")
    @dir_option
    @out_option(files)
    @click.option("--days", default=825, show_default=True, help="Validity of the certificate.")
    def command(hub_name: str, directory: str, out_dir: str | None, days: int) -> None:
        key_path, cert_path = run_sync(lambda: issue(Path(directory), hub_name, days=days, out_dir=_folder(out_dir)))
        said = i18n.tr(
            "cli.pki.hub_certificate_issued",
            "certificate: {cert} ({identity})\nkey:         {key} (the hub's settings {settings})",
            cert=cert_path,
            identity=hub_identity(hub_name),
            key=key_path,
            settings=settings,
        )
        click.echo(said)

    return pki.command(name, help=summary)(command)


pki_issue_hub_client = _hub_certificate_command(
    "issue-hub-client",
    issue_hub_client_certificate,
    "hub-client.key/.crt",
    "tls_client_cert / tls_client_key",
    "Re-issue the hub's client certificate (what it presents to adapters; they admit it by its name).",
)
pki_issue_document_signing = _hub_certificate_command(
    "issue-document-signing",
    issue_document_signing_certificate,
    "document-signing.key/.crt",
    "document_signing_cert / document_signing_key",
    "(Re-)issue the hub's document-signing certificate (the PAdES signature of annotated copies).",
)


@pki.command("revoke")
@click.argument("certificate", required=False, type=click.Path(dir_okay=False))
@click.option("--serial", help="Serial number to revoke instead of a certificate file (hex, or decimal with 0d).")
@click.option("--reason", default="unspecified", show_default=True, help="key_compromise, superseded, ...")
@dir_option
@click.option("--days", default=CRL_DAYS, show_default=True, help="How long the new CRL says it is current.")
def pki_revoke(certificate: str | None, serial: str | None, reason: str, directory: str, days: int) -> None:
    """Revoke CERTIFICATE (a PEM file this CA issued) or --serial N: added to crl.pem, read by hub and adapters."""
    number = _serial(serial) if serial is not None else None
    revoked = run_sync(
        lambda: revoke_certificate(
            Path(directory),
            certificate=Path(certificate) if certificate else None,
            serial=number,
            reason=revocation_reason(reason),
            days=days,
        )
    )
    said = i18n.tr(
        "cli.pki.revoked",
        "revoked serial {serial}; CRL: {crl} (copy it to every adapter's tls.crl)",
        serial=format(revoked, "x"),
        crl=Path(directory) / "crl.pem",
    )
    click.echo(said)


@pki.command("crl")
@dir_option
@click.option("--days", default=CRL_DAYS, show_default=True, help="How long the CRL says it is current.")
@click.option(
    "--root-crl", type=click.Path(dir_okay=False, exists=True), help="The root's CRL brought from the offline root."
)
def pki_crl(directory: str, days: int, root_crl: str | None) -> None:
    """Write or refresh crl.pem, signed by the CA, keeping every revocation already listed (and the root's CRL)."""
    path = run_sync(lambda: write_crl(Path(directory), days=days, root_crl=Path(root_crl) if root_crl else None))
    click.echo(i18n.tr("cli.pki.crl", "CRL: {path}", path=path))


# --- the key ceremony ------------------------------------------------------------------------------


@pki.group("root")
def pki_root() -> None:
    """The offline root CA: made, used and kept on a machine that is never on the network."""


@pki_root.command("init")
@click.option("--out", "directory", required=True, type=click.Path(file_okay=False), help="Where to write root.*.")
@click.option("--name", default=DEFAULT_ROOT_NAME, show_default=True, help="Common name of the root.")
@click.option("--days", default=ROOT_DAYS, show_default=True, help="Validity of the root certificate.")
@click.option("--force", is_flag=True, help="Replace an existing root (every intermediate stops working).")
def pki_root_init(directory: str, name: str, days: int, force: bool) -> None:
    """Create the root CA (root.key, root.crt; path length 1) and its CRL (root-crl.pem)."""
    paths = run_sync(lambda: init_root(Path(directory), name=name, days=days, force=force))
    click.echo(
        i18n.translate("cli.pki.root_made", "root CA: {cert}; its key {key} never leaves this machine").format(
            cert=paths.certificate, key=paths.key
        )
    )
    click.echo(i18n.translate("cli.pki.root_crl", "root CRL: {crl}").format(crl=paths.crl))
    click.echo(
        i18n.translate("cli.pki.fingerprint", "fingerprint: {fingerprint}").format(
            fingerprint=certificate_fingerprint(paths.certificate.read_bytes())
        )
    )


@pki_root.command("revoke")
@click.argument("certificate", required=False, type=click.Path(dir_okay=False))
@click.option("--serial", help="Serial number of the intermediate (hex, or decimal with 0d).")
@click.option("--reason", default="unspecified", show_default=True, help="key_compromise, superseded, ...")
@click.option("--root", "root", required=True, type=click.Path(file_okay=False), help="The root's directory.")
@click.option("--days", default=ROOT_CRL_DAYS, show_default=True, help="How long the root's CRL says it is current.")
def pki_root_revoke(certificate: str | None, serial: str | None, reason: str, root: str, days: int) -> None:
    """Revoke an intermediate (its certificate file or --serial) in root-crl.pem; carry that file to every hub."""
    number = _serial(serial) if serial is not None else None
    revoked = run_sync(
        lambda: revoke_intermediate(
            Path(root),
            certificate=Path(certificate) if certificate else None,
            serial=number,
            reason=revocation_reason(reason),
            days=days,
        )
    )
    click.echo(
        i18n.translate(
            "cli.pki.intermediate_revoked",
            "revoked intermediate {serial}; on each hub: exchange pki crl --root-crl {crl}",
        ).format(serial=format(revoked, "x"), crl=Path(root) / "root-crl.pem")
    )


@pki_root.command("crl")
@click.option("--root", "root", required=True, type=click.Path(file_okay=False), help="The root's directory.")
@click.option("--days", default=ROOT_CRL_DAYS, show_default=True, help="How long the root's CRL says it is current.")
def pki_root_crl(root: str, days: int) -> None:
    """Re-sign root-crl.pem before it goes stale (keeping every revoked intermediate)."""
    path = run_sync(lambda: refresh_root_crl(Path(root), days=days))
    click.echo(i18n.translate("cli.pki.root_crl", "root CRL: {crl}").format(crl=path))


@pki.group("intermediate")
def pki_intermediate() -> None:
    """The hub's issuing CA, signed by the offline root: request on the hub host, sign offline, install."""


@pki_intermediate.command("request")
@dir_option
@click.option("--hub-name", default=DEFAULT_HUB_NAME, show_default=True, help="The hub's name (setting hub_name).")
def pki_intermediate_request(directory: str, hub_name: str) -> None:
    """Make the intermediate's key (stays here) and a signing request (intermediate.csr) to carry to the root."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    path = run_sync(lambda: request_intermediate(Path(directory), hub_name=hub_name))
    click.echo(
        i18n.translate("cli.pki.request_made", "request: {path}; carry it to the offline root").format(path=path)
    )


@pki_intermediate.command("sign")
@click.argument("request", type=click.Path(dir_okay=False, exists=True))
@click.option("--root", "root", required=True, type=click.Path(file_okay=False), help="The root's directory.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the chain.")
@click.option("--days", default=INTERMEDIATE_DAYS, show_default=True, help="Validity of the intermediate.")
def pki_intermediate_sign(request: str, root: str, out: str, days: int) -> None:
    """At the offline root: sign REQUEST as an intermediate (path length 0); OUT holds it and the root."""
    path = run_sync(lambda: sign_intermediate(Path(root), Path(request), Path(out), days=days))
    click.echo(
        i18n.translate("cli.pki.intermediate_signed", "intermediate and root: {path}; carry it back to the hub").format(
            path=path
        )
    )


@pki_intermediate.command("install")
@click.argument("chain", type=click.Path(dir_okay=False, exists=True))
@dir_option
@click.option("--root-crl", type=click.Path(dir_okay=False, exists=True), help="The root's CRL (root-crl.pem).")
@click.option("--hub-name", default=DEFAULT_HUB_NAME, show_default=True, help="The hub's name (setting hub_name).")
@click.option("--host", "hosts", multiple=True, help="Host name or address clients dial (repeat; default localhost).")
@click.option("--days", default=825, show_default=True, help="Validity of the hub's new certificates.")
@click.option("--keep-previous-ca", is_flag=True, help="Keep trusting the CA it replaces until all are re-issued.")
def pki_intermediate_install(
    chain: str,
    directory: str,
    root_crl: str | None,
    hub_name: str,
    hosts: tuple[str, ...],
    days: int,
    keep_previous_ca: bool,
) -> None:
    """Make the signed intermediate the hub's CA (ca.crt = intermediate + root) and re-issue the hub's certificates."""
    paths = run_sync(
        lambda: install_intermediate(
            Path(directory),
            Path(chain),
            root_crl=Path(root_crl) if root_crl else None,
            hub_name=hub_name,
            hosts=hosts or ("localhost", "127.0.0.1"),
            days=days,
            keep_previous_ca=keep_previous_ca,
        )
    )
    click.echo(
        i18n.translate(
            "cli.pki.intermediate_installed",
            "issuing CA: {ca} (intermediate + root: what hub, adapters and clients trust)",
        ).format(ca=paths.ca_cert)
    )
    said = i18n.tr(
        "cli.pki.hub_certificates",
        "server: {server}\nclient: {client} ({identity})",
        server=paths.server_cert,
        client=paths.hub_client_cert,
        identity=hub_identity(hub_name),
    )
    click.echo(said)


def _serial(text: str) -> int:
    """A serial as `openssl x509 -serial` prints it (hex), or decimal written 0d123."""
    try:
        return int(text[2:], 10) if text.lower().startswith("0d") else int(text.replace(":", ""), 16)
    except ValueError:
        said = i18n.tr("cli.pki.bad_serial", "{text!r} is not a serial number (hex, or 0d<decimal>)", text=text)
        raise click.BadParameter(said, param_hint="--serial") from None
