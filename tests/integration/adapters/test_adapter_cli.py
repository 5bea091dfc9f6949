"""`exchange adapter keygen` and `check` on real files."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from exchange.cli import cli
from exchange.demo.data import PSB_COLUMNS, generate, write_psb_database

from .hubsetup import spec_path


def test_keygen_then_check_a_sql_adapter_and_look_keys_up(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["adapter", "keygen", "--out", str(tmp_path / "psb.pem")])
    assert made.exit_code == 0 and made.output.startswith("kid: ") and "BEGIN PUBLIC KEY" in made.output
    assert (tmp_path / "psb.pem.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    again = runner.invoke(cli, ["adapter", "keygen", "--out", str(tmp_path / "psb.pem")])
    assert again.exit_code != 0 and "refusing to overwrite" in again.output

    data = generate(3, companies=4)
    write_psb_database(data, tmp_path / "population.db")
    config = {
        "department": "PSB",
        "insecure_dev": True,
        "signing": {"key_file": "psb.pem", "kid": made.output.split()[1]},
        "datasets": [
            {
                "dataset": "identity_record",
                "version": "1.0",
                "spec": spec_path("identity_record"),
                "source": {
                    "type": "sql",
                    "url": "sqlite+aiosqlite:///population.db",
                    "table": "residents",
                    "key_column": "sfzh",
                    "column_map": PSB_COLUMNS,
                },
            }
        ],
    }
    (tmp_path / "psb.yaml").write_text(yaml.safe_dump(config))
    known = data.people[0].resident_id
    checked = runner.invoke(cli, ["adapter", "check", "--config", str(tmp_path / "psb.yaml"), "--key", known])
    assert checked.exit_code == 0, checked.output
    assert "identity_record" in checked.output and "found" in checked.output and "is valid" in checked.output

    config["datasets"][0]["source"]["table"] = "residents; DROP TABLE residents"  # type: ignore[index]
    (tmp_path / "psb.yaml").write_text(yaml.safe_dump(config))
    refused = runner.invoke(cli, ["adapter", "check", "--config", str(tmp_path / "psb.yaml")])
    assert refused.exit_code == 2 and "datasets[0].source.table" in refused.output
