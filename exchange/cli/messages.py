"""Every sentence the CLI says about connecting and what to do next, in one place (to translate in one place).

Each hint names the option or profile key to check, so an operator can act on it without reading code.
"""

from __future__ import annotations

from exchange import i18n

# Exit codes, documented in docs/operations.md ("Exit codes").
EXIT_OK = 0
EXIT_USAGE = 1
EXIT_REFUSED = 2
EXIT_CONNECTION = 3


def connection_hint(message: str, *, hub: str, tls: bool) -> str:
    """One sentence: what is probably wrong with the connection to the hub, and what to check."""
    text = message.lower()
    if any(word in text for word in ("certificate", "handshake", "ssl", "verification")):
        return i18n.tr(
            "cli.hint.tls",
            "the TLS handshake failed: check that --ca (profile key `ca`) is the hub's CA (DATA_DIR/pki/ca.crt), "
            "that --cert/--key were issued by it (`exchange pki issue CODE`), and that the hub's name "
            "(--server-name) is in its certificate (`exchange init --host NAME`)",
        )
    nobody = ("connection refused", "name resolution", "dns", "no address", "deadline")
    if any(word in text for word in nobody) or ("failed to connect" in text and "socket closed" not in text):
        return i18n.tr(
            "cli.hint.nobody",
            "nothing answers at {hub}: check that `exchange serve` runs there and that --hub "
            "(profile key `hub`) names its grpc_listen address",
            hub=hub,
        )
    if not tls:
        return i18n.tr(
            "cli.hint.no_tls",
            "the hub at {hub} closed the connection: it serves mTLS, and no --ca/--cert/--key (profile keys "
            "`ca`, `cert`, `client_key`) were given; use a profile (`exchange profile create`) or pass them",
            hub=hub,
        )
    return i18n.tr(
        "cli.hint.closed",
        "the hub at {hub} closed the connection: check that --cert/--key (profile keys `cert`, `client_key`) "
        "are a department certificate from this hub's CA and not revoked, and that --ca is this hub's CA",
        hub=hub,
    )


def after_register(code: str, has_token_key: bool) -> list[str]:
    """The next steps after a department is registered."""
    steps = [
        i18n.translate(
            "cli.next.issue_certificate",
            "next: issue its client certificate: exchange pki issue {code} --dir DATA_DIR/pki --out {folder}",
        ).format(code=code, folder=code.lower())
    ]
    if not has_token_key:
        steps += (
            i18n.translate(
                "cli.next.token_key",
                "      make its token key pair:       exchange departments keygen {code} --out {folder}\n"
                "      register the public half:      exchange departments add-key {code} {folder}/{code}-token.pub "
                "--use token",
            )
            .format(code=code, folder=code.lower())
            .split("\n")
        )
    return steps


def after_init(data_dir: str, profile: str) -> list[str]:
    """The three commands a new operator runs after `exchange init`."""
    return (
        i18n.translate(
            "cli.next.after_init",
            "  1. start the hub:              exchange serve --data-dir {data_dir}\n"
            "  2. use the admin profile:      export EXCHANGE_PROFILE={profile}\n"
            "  3. register a department:      exchange departments register examples/catalog/departments/svc.yaml",
        )
        .format(data_dir=data_dir, profile=profile)
        .split("\n")
    )


def empty_catalog_steps() -> list[str]:
    """What an administrator does first while the catalog is empty."""
    return i18n.translate(
        "cli.next.empty_catalog",
        "the catalog is empty; first steps (with the admin profile, EXCHANGE_PROFILE=DATA_DIR/admin/profile.yaml):\n"
        "  exchange departments register examples/catalog/departments/*.yaml\n"
        "  exchange catalog register examples/catalog/datasets/*.yaml\n"
        "  exchange items register examples/catalog/service_items/*.yaml",
    ).split("\n")
