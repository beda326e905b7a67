"""The alert rules: valid for promtool, unit-tested with `promtool test rules`, every required
alert present with severity, summary, description and a runbook anchor that exists in
docs/ops.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.deploy.dashboards import alert_rules

REPO = Path(__file__).resolve().parents[3]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
RULES_DIR = PROMETHEUS_DIR / "rules"
OPS = REPO / "docs" / "ops.md"


def _promtool() -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not on PATH: run deploy/prometheus/install.sh (make test does)")
    return promtool


@pytest.mark.parametrize(
    ("args", "cwd"),
    [
        # the alert rules' own unit tests (firing and not firing, annotations in full)
        (["test", "rules", "purposegate.rules.test.yml"], RULES_DIR),
        # the rules file on its own
        (["check", "rules", "purposegate.rules.yml"], RULES_DIR),
        # the scrape config, which also loads the rules file
        (["check", "config", "prometheus.yml"], PROMETHEUS_DIR),
    ],
)
def test_when_promtool_runs_then_it_succeeds(args: list[str], cwd: Path) -> None:
    result = subprocess.run(
        [_promtool(), *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"#+\s+(.*)", line)
        if match:
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


ALERTS = {rule["alert"]: rule for rule in alert_rules()}


@pytest.mark.parametrize(
    ("alert", "severity"),
    [
        ("PurposegateDeadLetters", "warning"),  # DLQ rate above zero
        ("PurposegateUnclassifiedFields", "critical"),  # any unclassified field
        ("PurposegateConsumerLagGrowing", "warning"),  # lag growing for 5 minutes
        ("PurposegatePartitionStalled", "critical"),  # the stall watchdog fired
        ("PurposegateWorkerDown", "critical"),  # up == 0
        ("PurposegateCrossBorderBlockSpike", "warning"),  # spike of cross-border blocks
        ("PurposegateNoEvents", "warning"),  # no events for 10 minutes
        ("PurposegateErasureNoticesOverdue", "warning"),  # a recipient has not read a notice
    ],
)
def test_when_required_alert_looked_up_then_it_is_documented_and_has_a_runbook(
    alert: str, severity: str
) -> None:
    rule = ALERTS[alert]
    assert rule["labels"]["severity"] == severity
    annotations = rule["annotations"]
    assert annotations["summary"] and annotations["description"]
    path, _, anchor = annotations["runbook_url"].partition("#")
    assert path == "docs/ops.md"
    assert anchor in _anchors(OPS.read_text()), f"docs/ops.md has no heading #{anchor}"


@pytest.mark.parametrize("alert", sorted(ALERTS))  # one row per alert in the rules file
def test_when_rules_unit_tests_read_then_each_alert_has_a_firing_and_a_quiet_case(
    alert: str,
) -> None:
    tests = yaml.safe_load((RULES_DIR / "purposegate.rules.test.yml").read_text())["tests"]
    cases = [
        case
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case["alertname"] == alert
    ]
    assert any(case["exp_alerts"] for case in cases), f"{alert} never expected to fire"
    assert any(not case["exp_alerts"] for case in cases), f"{alert} never expected quiet"
