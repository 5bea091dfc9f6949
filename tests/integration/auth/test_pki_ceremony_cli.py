"""`exchange pki root` and `exchange pki intermediate`: the key ceremony as an operator types it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from cryptography import x509

from exchange.cli import cli


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, ["--lang", "en", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_ceremony_from_the_command_line_leaves_no_root_key_on_the_hub(tmp_path: Path) -> None:
    root, hub, carry = tmp_path / "root", tmp_path / "hub-pki", tmp_path / "carry"
    assert "never leaves this machine" in invoke("pki", "root", "init", "--out", str(root))
    invoke("pki", "intermediate", "request", "--dir", str(hub))
    chain = carry / "intermediate.crt"
    invoke("pki", "intermediate", "sign", str(hub / "intermediate.csr"), "--root", str(root), "--out", str(chain))
    invoke("pki", "intermediate", "install", str(chain), "--dir", str(hub), "--root-crl", str(root / "root-crl.pem"))
    assert {p.name for p in hub.iterdir()} >= {"ca.key", "ca.crt", "root.crt", "crl.pem", "server.crt"}
    assert not {"root.key", "intermediate.key", "intermediate.csr"} & {p.name for p in hub.iterdir()}
    intermediate, top = x509.load_pem_x509_certificates((hub / "ca.crt").read_bytes())
    assert intermediate.issuer == top.subject and top.issuer == top.subject
    # Certificates the hub issues now are presented with their intermediate.
    invoke("pki", "issue", "SAMR", "--dir", str(hub))
    assert [c.subject for c in x509.load_pem_x509_certificates((hub / "SAMR.crt").read_bytes())][1:] == [
        intermediate.subject
    ]
    revoked = invoke("pki", "root", "revoke", str(chain), "--root", str(root), "--reason", "superseded")
    assert f"{intermediate.serial_number:x}" in revoked
    invoke("pki", "crl", "--dir", str(hub), "--root-crl", str(root / "root-crl.pem"))
    crls = (hub / "crl.pem").read_bytes().count(b"-----BEGIN X509 CRL-----")
    assert crls == 2


def test_an_intermediate_for_another_key_is_refused_at_install(tmp_path: Path) -> None:
    root, hub, other = tmp_path / "root", tmp_path / "hub-pki", tmp_path / "other"
    invoke("pki", "root", "init", "--out", str(root))
    invoke("pki", "intermediate", "request", "--dir", str(hub))
    invoke("pki", "intermediate", "request", "--dir", str(other))
    chain = tmp_path / "other.crt"
    invoke("pki", "intermediate", "sign", str(other / "intermediate.csr"), "--root", str(root), "--out", str(chain))
    result = CliRunner().invoke(cli, ["--lang", "en", "pki", "intermediate", "install", str(chain), "--dir", str(hub)])
    assert result.exit_code == 2
    assert "PKI_KEY_MISMATCH" in result.output


def test_migrating_from_a_single_ca_keeps_its_certificates_trusted_until_reissued(tmp_path: Path) -> None:
    from exchange.auth.pki import RevocationList

    root, hub, carry = tmp_path / "root", tmp_path / "hub-pki", tmp_path / "carry"
    invoke("pki", "init", "--dir", str(hub))
    invoke("pki", "issue", "SAMR", "--dir", str(hub), "--out", str(tmp_path / "old"))
    old_ca = x509.load_pem_x509_certificate((hub / "ca.crt").read_bytes())
    invoke("pki", "root", "init", "--out", str(root))
    invoke("pki", "intermediate", "request", "--dir", str(hub))
    chain = carry / "intermediate.crt"
    invoke("pki", "intermediate", "sign", str(hub / "intermediate.csr"), "--root", str(root), "--out", str(chain))
    invoke(
        "pki", "intermediate", "install", str(chain), "--dir", str(hub), "--keep-previous-ca",
        "--root-crl", str(root / "root-crl.pem"),
    )  # fmt: skip
    trusted = x509.load_pem_x509_certificates((hub / "ca.crt").read_bytes())
    assert [c.subject for c in trusted][2:] == [old_ca.subject]
    store = x509.verification.Store(trusted[1:])  # the root and the old CA are anchors
    verifier = x509.verification.PolicyBuilder().store(store).build_client_verifier()
    old_leaf = x509.load_pem_x509_certificate((tmp_path / "old" / "SAMR.crt").read_bytes())
    assert verifier.verify(old_leaf, []).subjects is not None
    invoke("pki", "issue", "SAMR", "--dir", str(hub))
    new_leaf, presented = x509.load_pem_x509_certificates((hub / "SAMR.crt").read_bytes())
    assert verifier.verify(new_leaf, [presented]).subjects is not None
    # The replaced CA still revokes what it issued: its CRL sits beside the intermediate's and the root's.
    invoke("pki", "revoke", str(tmp_path / "old" / "SAMR.crt"), "--dir", str(hub), "--reason", "superseded")
    assert (hub / "crl.pem").read_bytes().count(b"-----BEGIN X509 CRL-----") == 3
    revocations = RevocationList(hub / "crl.pem", (hub / "ca.crt").read_bytes())
    assert revocations.is_revoked(old_leaf.serial_number)
    assert not revocations.is_revoked(new_leaf.serial_number)
