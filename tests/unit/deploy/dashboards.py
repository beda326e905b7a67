"""The Grafana dashboard's queries and the Prometheus alert rules, read from deploy/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]


DASHBOARD = REPO / "deploy" / "grafana" / "purposegate.json"


RULES = REPO / "deploy" / "prometheus" / "rules" / "purposegate.rules.yml"


#: Grafana's built-in variables, replaced by plain durations before PromQL reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "5m", "$__interval": "15s"}


def load_dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_queries(variables: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(``"<panel title> / <refId>"``, PromQL) of every target of every panel, with Grafana's
    variables replaced."""
    replacements = variables or GRAFANA_VARIABLES
    queries = []
    for panel in _panels(load_dashboard()["panels"]):
        for target in panel.get("targets", []):
            expr = target["expr"]
            for name, value in replacements.items():
                expr = expr.replace(name, value)
            queries.append((f"{panel['title']} / {target['refId']}", expr))
    return queries


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def alert_expressions() -> list[tuple[str, str]]:
    return [(rule["alert"], rule["expr"]) for rule in alert_rules()]
