"""deploy/prometheus and deploy/grafana: the alert rules pass promtool's own unit tests, and every metric the
rules and the dashboard query is one a real hub serves on /metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest
import yaml

from exchange.testing import HubFixture

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "exchange-hub.json"
# Series Prometheus makes itself, not the hub.
PROMETHEUS_OWN = {"up"}
METRIC = re.compile(r"\b((?:exchange|process|python)_[a-z0-9_]+|up)\b(?!\s*\()")


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: run `sh scripts/ensure-promtool.sh` (Debian's prometheus package)"
    return found


def run_promtool(*args: str) -> str:
    done = subprocess.run([promtool(), *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_alert_rules_are_valid_and_pass_their_unit_tests():
    assert "SUCCESS" in run_promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in run_promtool("test", "rules", "alerts_test.yml")


def test_every_alert_has_a_unit_test_that_fires_it():
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert alerts >= {
        "ExchangeHubDown",
        "ExchangeHubErrorRatioHigh",
        "ExchangeAdapterCircuitOpen",
        "ExchangeAccessLogCommitSlow",
        "ExchangeCheckpointStale",
        "ExchangeCertificateExpiringSoon",
    }
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())
    fired = {case["alertname"] for test in tests["tests"] for case in test["alert_rule_test"] if case.get("exp_alerts")}
    assert alerts == fired


def rule_expressions() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def served_names(text: str) -> set[str]:
    """Every series name the exposition can hold: each family and its histogram/counter sample names."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            names.add(name)
            if kind == "histogram":
                names.update(f"{name}_{suffix}" for suffix in ("bucket", "count", "sum"))
            if kind == "counter" and not name.endswith("_total"):
                names.add(f"{name}_total")
    return names


async def test_every_metric_the_rules_and_dashboard_query_is_served_by_a_real_hub(hub: HubFixture):
    url = f"{hub.http_url}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url, ssl=hub.http_ssl() or True) as response:
        text = await response.text()
    served = served_names(text) | PROMETHEUS_OWN
    for source, expressions in (("alerts.yml", rule_expressions()), ("exchange-hub.json", dashboard_expressions())):
        queried = {name for expr in expressions for name in METRIC.findall(expr)}
        assert queried, source
        missing = sorted(queried - served)
        assert not missing, f"{source} queries metrics no hub serves: {missing}"


@pytest.mark.parametrize("expr", dashboard_expressions())
def test_dashboard_queries_parse_as_promql(expr, tmp_path):
    """promtool parses each query inside a throwaway rule file (Grafana would only fail at view time)."""
    (tmp_path / "q.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "q", "rules": [{"record": "q", "expr": expr}]}]})
    )
    done = subprocess.run([promtool(), "check", "rules", str(tmp_path / "q.yml")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
