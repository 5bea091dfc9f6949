"""`exchange init`: everything a new hub needs before it first starts.

Creates the database schema, the hub's checkpoint signing key, the small CA with
the hub's server certificate (unless in insecure dev mode), and the hub operator's
own department (setting `hub_department`, `HUB` by default: the only department that can
hold hub_admin and auditor) with a token key and a client certificate, so the operator can
administer the hub with the CLI from the profile this writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from catalog.model import AdminLevel, Department, DepartmentKey, KeyUse
from exchange.auth.identity import system_caller
from exchange.auth.keys import generate_ed25519, key_id, load_private_key, public_key_to_pem, write_private_key
from exchange.auth.pki import init_pki, issue_department_certificate, issue_hub_client_certificate
from exchange.config import Settings
from exchange.hub import Hub
from exchange.registry import Registry


async def initialise(settings: Settings, hosts: Sequence[str] = ("localhost", "127.0.0.1")) -> Path:
    """Prepare the data directory; return the path of the operator's CLI profile."""
    from exchange.cli.common import Profile

    operator = settings.hub_department
    data_dir = settings.data_dir.resolve()
    admin_dir = data_dir / "admin"
    admin_dir.mkdir(parents=True, exist_ok=True)
    profile = Profile(hub=settings.grpc_listen.replace("0.0.0.0", "127.0.0.1"), department=operator)  # noqa: S104
    if not settings.insecure_dev:
        pki_dir = settings.path(settings.tls_cert).parent.resolve()
        if not (pki_dir / "ca.crt").exists():
            init_pki(pki_dir, hub_name=settings.hub_name, hosts=(*hosts, settings.hub_name))
        elif not settings.path(settings.tls_client_cert).exists():
            # A data directory made before the hub had a client profile of its own.
            client_dir = settings.path(settings.tls_client_cert).parent
            issue_hub_client_certificate(pki_dir, settings.hub_name, out_dir=client_dir)
        key_path, cert_path = issue_department_certificate(pki_dir, operator, out_dir=admin_dir)
        profile = Profile(
            hub=profile.hub,
            department=operator,
            ca=str(pki_dir / "ca.crt"),
            cert=str(cert_path),
            client_key=str(key_path),
        )
    token_key_path = admin_dir / f"{operator}-token.key"
    if not token_key_path.exists():
        write_private_key(token_key_path, generate_ed25519())
    token_key = load_private_key(token_key_path)
    hub = Hub(settings)
    await hub.start()
    try:
        dept = Department(
            code=operator,
            name="Hub operator",
            level=AdminLevel.PROVINCE,
            region_code="110000",
            keys=(DepartmentKey(key_id(token_key.public_key()), KeyUse.TOKEN, "EdDSA", public_key_to_pem(token_key)),),
        )
        await Registry(hub).register_department(dept, system_caller(operator))
    finally:
        await hub.close()
    profile_path = admin_dir / "profile.yaml"
    Profile(
        hub=profile.hub,
        department=operator,
        officer="admin",
        key=str(token_key_path),
        roles=("hub_admin",),
        ca=profile.ca,
        cert=profile.cert,
        client_key=profile.client_key,
        server_name=settings.hub_name if profile.ca else "",
    ).dump(profile_path)
    return profile_path
