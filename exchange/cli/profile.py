"""`exchange profile`: write and show CLI profiles (who calls which hub, with which files).

The keys are those of `exchange.cli.common.Profile`, documented in docs/operations.md ("CLI profiles").
"""

from __future__ import annotations

from pathlib import Path

import click
from cryptography import x509

from exchange import i18n
from exchange.auth.keys import key_id, load_private_key
from exchange.cli.common import Profile, emit_record, fail, output_option, profile_options
from exchange.errors import FieldViolation, InvalidArgument


@click.group("profile")
def profile() -> None:
    """Write and show CLI profiles (hub address, identity, TLS files).

    \b
    Examples:
      exchange profile create --out svc.yaml --hub hub.example.gov:50051 --department SVC \\
          --officer zhang.san --roles officer --token-key svc/SVC-token.key \\
          --ca ca.crt --cert svc/SVC.crt --key svc/SVC.key
      exchange profile show --profile svc.yaml
    """


def _problems(chosen: Profile) -> list[FieldViolation]:
    """What is wrong with a profile's files: missing ones, and a token key that is not one."""
    problems = []
    for name, option in (("key", "--token-key"), ("ca", "--ca"), ("cert", "--cert"), ("client_key", "--key")):
        value = getattr(chosen, name)
        if value and not Path(value).is_file():
            problems.append(FieldViolation(option, f"no such file: {value}"))
    if not chosen.department:
        problems.append(FieldViolation("--department", "required: the code of the department acting"))
    if not chosen.key:
        problems.append(FieldViolation("--token-key", "required: the department's token key"))
    if bool(chosen.cert) != bool(chosen.client_key) or (chosen.cert and not chosen.ca):
        problems.append(FieldViolation("--ca/--cert/--key", "give all three (mTLS) or none (a plain-text dev hub)"))
    if problems:
        return problems
    try:
        token_key = load_private_key(Path(chosen.key))
    except InvalidArgument as error:
        return [FieldViolation("--token-key", error.message)]
    if chosen.cert:
        certificate = x509.load_pem_x509_certificate(Path(chosen.cert).read_bytes())
        if key_id(certificate.public_key()) == key_id(token_key):  # type: ignore[arg-type]
            problems.append(
                FieldViolation(
                    "--token-key",
                    "this is the client certificate's key, not a token key; make one with "
                    "`exchange departments keygen CODE`",
                )
            )
    return problems


@profile.command("create")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The profile file to write.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
@profile_options
def profile_create(out: str, force: bool, profile: Profile) -> None:
    """Write a profile from the options (or another --profile plus changes); checks the files first.

    File names are stored as absolute paths, so the profile works from any directory.

    \b
    Examples:
      exchange profile create --out data/svc/profile.yaml --department SVC --officer zhang.san \\
          --roles officer --token-key data/svc/SVC-token.key \\
          --ca data/pki/ca.crt --cert data/svc/SVC.crt --key data/svc/SVC.key --server-name exchange-hub
      exchange profile create --profile data/admin/profile.yaml --roles auditor --out auditor.yaml
    """
    path = Path(out)
    if path.exists() and not force:
        raise click.UsageError(i18n.tr("cli.profile.exists", "{path} exists; pass --force to replace it", path=path))
    problems = _problems(profile)
    if problems:
        fail(InvalidArgument("the profile was not written", reason="CLI_PROFILE_INVALID", violations=problems))
    absolute = {
        name: str(Path(value).resolve())
        for name in ("key", "ca", "cert", "client_key")
        if (value := getattr(profile, name))
    }
    written = Profile(**{**profile.__dict__, **absolute})
    path.parent.mkdir(parents=True, exist_ok=True)
    written.dump(path)
    roles = ",".join(written.roles)
    said = i18n.translate(
        "cli.profile.written",
        "wrote {path} ({department}/{officer} at {hub}, roles {roles})\n"
        "use it: exchange catalog list --profile {path}   (or export EXCHANGE_PROFILE={path})",
    )
    click.echo(
        said.format(path=path, department=written.department, officer=written.officer, hub=written.hub, roles=roles)
    )


@profile.command("show")
@output_option
@profile_options
def profile_show(output: str, profile: Profile) -> None:
    """Show the profile in effect: the --profile file (or EXCHANGE_PROFILE) with any options applied.

    \b
    Examples:
      exchange profile show --profile data/admin/profile.yaml
      EXCHANGE_PROFILE=svc.yaml exchange profile show -o json
    """
    emit_record(profile.as_dict(), output)
