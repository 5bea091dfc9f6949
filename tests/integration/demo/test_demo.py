"""`exchange demo --once` runs the whole application through real processes and prints what happened."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_once_runs_an_application_across_departments(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "exchange.cli", "demo", "--once", "--port", "0", "--http-port", "0",
         "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for dataset, issuer in (
        ("business_licence", "SAMR"),
        ("identity_record", "PSB"),
        ("property_certificate", "MNR"),
        ("fire_safety_certificate", "FIRE"),
    ):
        assert any(dataset in line and issuer in line and "from issuer" in line for line in out.splitlines())
    assert "state approved" in out
    assert "materials fetched from issuers: 4" in out
    assert "cases.attach_material" in out and "cases.read_material" in out
    assert "— exchange-hub " in out  # the signed checkpoint
    assert (tmp_path / "hub" / "exchange.db").exists()
