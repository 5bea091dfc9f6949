"""Department certificates near expiry: the hub reads each caller's certificate, exposes days to expiry per
department on /metrics and warns on the console overview; `exchange pki renew` and `expiring` at the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from cryptography import x509

from exchange.auth.pki import DEPARTMENT_URI_PREFIX, init_pki, issue_department_certificate
from exchange.cli import cli
from exchange.testing import HubFixture
from exchange.v1 import catalog_pb2

from ..hub.test_metrics import samples, scrape
from .conftest import Browser


async def test_a_department_certificate_near_expiry_shows_in_metrics_and_on_the_overview(
    console_hub: HubFixture, browser: Browser
) -> None:
    folder = console_hub.pki_dir / "departments"
    issue_department_certificate(console_hub.pki_dir, "TAX", days=12, out_dir=folder)
    await console_hub.add_department("TAX")
    tax = console_hub.client("TAX")
    await tax.call(tax._stubs.catalog.ListDatasets, catalog_pb2.ListDatasetsRequest())
    samr = console_hub.client("SAMR")  # a certificate of 365 days
    await samr.call(samr._stubs.catalog.ListDatasets, catalog_pb2.ListDatasetsRequest())

    found = samples(await scrape(console_hub))
    days = {
        dict(labels)["department"]: value
        for (name, labels), value in found.items()
        if name == "exchange_department_certificate_days_left"
    }
    assert 11 < days["TAX"] <= 12 and days["SAMR"] > 300

    await browser.sign_in("root")
    status, page = await browser.get("/")
    assert status == 200
    assert "Client certificates expiring within 30 days" in page and "TAX: 11 days left" in page
    assert "SAMR:" not in page
    # A department's administrator sees the warning about their own department only.
    other = browser.another()
    await other.sign_in("samr-admin")
    _, page = await other.get("/")
    assert "TAX" not in page and "expiring" not in page
    await other.close()


def test_renew_issues_a_new_certificate_for_the_same_department_and_expiring_lists_the_rest(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    init_pki(pki)
    issue_department_certificate(pki, "SAMR", days=10)
    issue_department_certificate(pki, "FIRE", days=365)
    runner = CliRunner()
    listed = runner.invoke(cli, ["--lang", "en", "pki", "expiring", "--days", "30", "--dir", str(pki), "-o", "json"])
    assert listed.exit_code == 0, listed.output
    assert [row["identity"] for row in json.loads(listed.output)] == [DEPARTMENT_URI_PREFIX + "SAMR"]
    old = x509.load_pem_x509_certificate((pki / "SAMR.crt").read_bytes())

    renewed = runner.invoke(cli, ["--lang", "en", "pki", "renew", "SAMR", "--dir", str(pki)])
    assert renewed.exit_code == 0, renewed.output
    assert "--reason superseded" in renewed.output
    new = x509.load_pem_x509_certificate((pki / "SAMR.crt").read_bytes())
    assert new.subject == old.subject and new.serial_number != old.serial_number
    assert new.public_key() != old.public_key() and new.not_valid_after_utc > old.not_valid_after_utc
    assert (pki / f"SAMR.crt.{old.serial_number:x}.previous").exists()
    listed = runner.invoke(cli, ["--lang", "en", "pki", "expiring", "--days", "30", "--dir", str(pki), "-o", "json"])
    assert json.loads(listed.output) == []
