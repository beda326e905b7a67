"""The Grafana dashboard and the alert rules only query metrics that exist, and all their
PromQL parses (promtool). The helpers here are shared with the real-Prometheus test."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from broker import metrics
from tests.unit.deploy.dashboards import (
    _panels,
    alert_expressions,
    dashboard_queries,
    load_dashboard,
    rules,
)


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def _exported_names() -> set[str]:
    """Every sample name our registry can expose (histograms: _bucket, _sum, _count)."""
    names = set()
    for family in metrics.REGISTRY.collect():
        names.add(family.name)
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
        names.update(family.name + s for s in suffixes.get(family.type, ()))
        if family.type == "info":
            names.add(family.name + "_info")
    return names


_METRIC_NAME = re.compile(r"\b((?:purposegate|faust|process)_[a-z0-9_]+)\b")


def _referenced_names(expr: str) -> set[str]:
    return set(_METRIC_NAME.findall(expr))


@pytest.mark.parametrize(
    ("source", "expr"),
    [
        *dashboard_queries(),  # every dashboard panel target
        *alert_expressions(),  # every alert rule
    ],
)
def test_when_a_query_names_a_purposegate_metric_then_the_registry_exports_it(
    source: str, expr: str
) -> None:
    exported = _exported_names()
    unknown = {
        name
        for name in _referenced_names(expr)
        if name.startswith(("purposegate_", "process_")) and name not in exported
    }
    assert not unknown, f"{source}: no such metric {sorted(unknown)}"


@pytest.mark.parametrize(
    "required",
    [
        "purposegate_events_total",  # throughput by topic
        "purposegate_decisions_total",  # decisions by recipient × purpose × outcome, reasons
        "purposegate_fields_redacted_total",  # redactions by category
        "purposegate_dlq_total",  # DLQ
        "purposegate_consumer_lag",  # lag
        "purposegate_partition_stalled",  # the stall watchdog
        "purposegate_processing_seconds_bucket",  # latency quantiles
        "purposegate_policy_info",  # policy version
        "purposegate_erasure_notices",  # erasure notices by recipient and state
    ],
)
def test_when_dashboard_loaded_then_it_shows_the_metric(required: str) -> None:
    assert any(required in expr for _, expr in dashboard_queries())


@pytest.mark.parametrize(
    "quantile",
    [
        "0.5",  # p50
        "0.95",  # p95
        "0.99",  # p99
    ],
)
def test_when_dashboard_loaded_then_latency_quantile_is_plotted(quantile: str) -> None:
    assert any(
        f"histogram_quantile({quantile}, " in expr and "purposegate_processing_seconds" in expr
        for _, expr in dashboard_queries()
    )


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ("datasource_variable", True),  # panels pick the Prometheus data source from a variable
        ("panels_use_variable", True),  # and no panel hard-codes one
    ],
)
def test_when_dashboard_loaded_then_datasource_is_a_variable(check: str, expected: bool) -> None:
    dashboard = load_dashboard()
    variables = dashboard["templating"]["list"]
    if check == "datasource_variable":
        found = any(v["type"] == "datasource" and v["query"] == "prometheus" for v in variables)
    else:
        uids = {
            target["datasource"]["uid"]
            for panel in _panels(dashboard["panels"])
            for target in panel.get("targets", [])
        }
        found = uids == {"${datasource}"}
    assert found is expected


def test_when_dashboard_and_alert_queries_parsed_by_promtool_then_all_are_valid(
    tmp_path: Path,
) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not on PATH: run deploy/prometheus/install.sh")
    # promtool has no "parse this expression" command; a recording rule per query does it.
    queries = dashboard_queries() + alert_expressions()
    document = {
        "groups": [
            {
                "name": "parse-only",
                "rules": [
                    {"record": f"parse:check_{i}", "expr": expr}
                    for i, (_, expr) in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "queries.rules.yml"
    path.write_text(yaml.safe_dump(document))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_when_dashboard_ids_listed_then_they_are_unique() -> None:
    ids = [panel["id"] for panel in _panels(load_dashboard()["panels"])]
    assert len(ids) == len(set(ids))
