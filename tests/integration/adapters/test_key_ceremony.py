"""The key ceremony end to end: an offline root, an intermediate on the hub host, real adapter processes.

The root (`init_root`) lives in a directory the hub never sees; the hub's issuing CA is an intermediate
the root signed from a request made on the hub host. Everything the hub, the adapter and the client
trust is the chain (ca.crt = intermediate + root) or the root alone, since every certificate is
presented with its intermediate. The root's CRL revokes a whole intermediate, and the hub refuses what
that intermediate issued.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from cryptography import x509

from catalog.specs import parse_service_item
from exchange.auth.keys import generate_ed25519
from exchange.auth.pki import (
    CA_CERT,
    ROOT_CERT,
    ROOT_CRL,
    ROOT_KEY,
    init_root,
    install_intermediate,
    issue_adapter_certificate,
    issue_department_certificate,
    request_intermediate,
    revoke_intermediate,
    sign_intermediate,
    write_crl,
)
from exchange.client import ClientTLS, HubClient
from exchange.errors import Unauthenticated
from exchange.testing import LOOPBACK_HOSTS, HubFixture, start_test_hub, system_caller

from .hubsetup import CONSUMER, AdapterProcess, grant, open_case, spawn_adapter
from .test_issuer_signatures import FIELDS, variant_spec, write_licences

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Ceremony:
    hub: HubFixture
    pki: Path
    root: Path
    adapter: AdapterProcess
    consumer_keys: Any
    case_id: str
    uscc: str
    folder: Path

    def client(self, department_dir: Path, *, trust: Path | None = None) -> HubClient:
        """CONSUMER's client with the certificate in department_dir, trusting the chain (or trust alone)."""
        tls = ClientTLS.from_files(
            trust or self.pki / CA_CERT, department_dir / f"{CONSUMER}.crt", department_dir / f"{CONSUMER}.key"
        )
        client = HubClient.connect(
            self.hub.address,
            department=CONSUMER,
            officer="li.wei",
            key=self.consumer_keys.token_key,
            kid=self.consumer_keys.token_kid,
            tls=tls,
        )
        self.hub.clients.append(client)
        return client


def make_intermediate(root: Path, directory: Path, carry: Path) -> Path:
    """The ceremony for one intermediate: request on the hub host, sign offline, install; the signed chain file."""
    directory.mkdir(parents=True, exist_ok=True)
    request = request_intermediate(directory)
    chain = sign_intermediate(root, request, carry / f"{directory.name}-intermediate.crt")
    install_intermediate(directory, chain, root_crl=root / ROOT_CRL, hosts=(*LOOPBACK_HOSTS, "exchange-hub"))
    return chain


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ceremony(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ceremony]:
    tmp_path = tmp_path_factory.mktemp("ceremony")
    offline, carry, pki = tmp_path / "offline-root", tmp_path / "usb-stick", tmp_path / "hub" / "pki"
    init_root(offline)
    make_intermediate(offline, pki, carry)
    # A second intermediate signed by the same root: it issues one department certificate, then is revoked.
    make_intermediate(offline, tmp_path / "old-intermediate", carry)
    issue_department_certificate(tmp_path / "old-intermediate", CONSUMER, out_dir=tmp_path / "from-old")
    issue_department_certificate(pki, CONSUMER)
    issue_adapter_certificate(pki, "SAMR", hosts=("127.0.0.1",))
    # The root goes back in the safe: nothing of it but its certificate is on the hub host.
    root = tmp_path / "safe"
    shutil.move(offline, root)
    hub = await start_test_hub(tmp_path / "hub", insecure_dev=False)
    parquet = tmp_path / "licences.parquet"
    uscc = write_licences(parquet)
    source = {"type": "files", "path": str(parquet), "key_column": "unified_social_credit_code"}
    key = generate_ed25519()
    tls = {
        "cert": str(pki / "SAMR-adapter.crt"),
        "key": str(pki / "SAMR-adapter.key"),
        "client_ca": str(pki / CA_CERT),
        "crl": str(pki / "crl.pem"),
    }
    spec = variant_spec(tmp_path, "SAMR")
    datasets = [{"dataset": "licence_samr", "version": "1.0", "spec": str(spec), "source": source}]
    adapter = await spawn_adapter(tmp_path / "samr", "SAMR", datasets, key, tls=tls)
    try:
        await hub.add_department("SAMR", adapter_endpoint=adapter.endpoint, signing_public_key=key.public_key())
        consumer = await hub.add_department(CONSUMER)
        item: dict[str, Any] = {"code": "licence_check", "name": "Licence check", "lead_department": CONSUMER}
        item.update(time_limit_days=5, required_materials=[{"dataset": "licence_samr", "fields": list(FIELDS)}])
        await hub.register_example_dataset("business_licence", code="licence_samr", owner="SAMR")
        await hub.running.registry.register_service_item(parse_service_item(item), system_caller())
        await grant(hub, "licence_samr", FIELDS)
        case_id = await open_case(hub, "licence_check", CONSUMER, uscc)
        yield Ceremony(hub, pki, root, adapter, consumer, case_id, uscc, tmp_path)
    finally:
        await adapter.stop()
        await hub.stop()


async def test_the_hub_runs_without_the_root_key_on_its_host(ceremony: Ceremony) -> None:
    hub_host = ceremony.folder / "hub"
    assert not [path for path in hub_host.rglob("*") if path.name in (ROOT_KEY, "intermediate.key")]
    assert (ceremony.root / ROOT_KEY).exists()
    chain = x509.load_pem_x509_certificates((ceremony.pki / CA_CERT).read_bytes())
    intermediate, root = chain[0], chain[1]
    assert intermediate.issuer == root.subject != intermediate.subject
    assert intermediate.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 1
    assert intermediate.not_valid_after_utc < root.not_valid_after_utc


async def test_a_fetch_over_mtls_with_certificates_from_the_intermediate(ceremony: Ceremony) -> None:
    client = ceremony.client(ceremony.pki)
    document = await client.fetch("licence_samr", ceremony.uscc, case_id=ceremony.case_id)
    assert document.data["unified_social_credit_code"] == ceremony.uscc
    assert document.provenance.issuer == "SAMR"


async def test_a_client_trusting_the_root_alone_fetches_since_the_hub_presents_its_chain(ceremony: Ceremony) -> None:
    client = ceremony.client(ceremony.pki, trust=ceremony.pki / ROOT_CERT)
    assert (await client.fetch("licence_samr", ceremony.uscc, case_id=ceremony.case_id)).data


async def test_a_certificate_from_a_revoked_intermediate_is_refused_and_logged(
    ceremony: Ceremony, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_old = ceremony.client(ceremony.folder / "from-old")
    # Before the root revokes its intermediate, that intermediate's certificates are as good as any.
    assert (await from_old.fetch("licence_samr", ceremony.uscc, case_id=ceremony.case_id)).data
    # At the offline machine: the root revokes the old intermediate; its CRL is carried to the hub.
    revoke_intermediate(
        ceremony.root,
        certificate=ceremony.folder / "usb-stick" / "old-intermediate-intermediate.crt",
        reason=x509.ReasonFlags.key_compromise,
    )
    write_crl(ceremony.pki, root_crl=ceremony.root / ROOT_CRL)
    monkeypatch.setattr(ceremony.hub.hub.revocations, "_checked_at", -float("inf"))  # no wait for the next stat
    with pytest.raises(Unauthenticated) as refused:
        await from_old.fetch("licence_samr", ceremony.uscc, case_id=ceremony.case_id)
    assert refused.value.grpc_code is grpc.StatusCode.UNAUTHENTICATED
    assert refused.value.reason == "ISSUER_REVOKED"
    entries = [e for e in await ceremony.hub.log_entries() if e.reason == "ISSUER_REVOKED"]
    assert [(e.decision, e.outcome, e.caller_department, e.subject_id) for e in entries] == [
        ("deny", "UNAUTHENTICATED", CONSUMER, "")
    ]
    # The current intermediate's certificate for the same department still works.
    current = ceremony.client(ceremony.pki)
    assert (await current.fetch("licence_samr", ceremony.uscc, case_id=ceremony.case_id)).data
