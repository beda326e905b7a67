"""``purposegate worker --shadow-policy NEW.yaml`` against the real broker: the worker forwards
under the policy in force only, writes what the shadow policy would change to
``purposegate.shadow`` and counts it on /metrics, with no id in any label."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.lines import consent_line, order_line
from bench.workers import PURPOSEGATE, WorkerProcess, free_port
from config.settings import Settings
from policy import topics
from policy.loader import DEFAULT_POLICY, load_policy
from tests.integration.kafka_io import TopicWatcher, produce_raw
from tests.integration.streams_for_tests import codec, encode_lines
from wire import Decoded

pytestmark = pytest.mark.integration

CARGO = "shared.septem-cargo.fulfilment"
LOSS = (
    "purposegate_shadow_differences_total"
    '{change="lost",purpose="fulfilment",recipient="septem-cargo"}'
)


def shadow_policy(tmp_path: Path) -> Path:
    """The shipped policy, but cargo no longer gets the phone number."""
    document = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    for route in document["routes"]:
        if (route["recipient"], route["purpose"]) == ("septem-cargo", "fulfilment"):
            route["fields"].pop("phone")
    path = tmp_path / "shadow.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def delivered(customer: str, event_id: str, at: str) -> str:
    line = json.loads(order_line(customer, event_id, at))
    line["value"]["status"] = "delivered"
    return json.dumps(line)


LINES = [
    consent_line("c-1", "con-1", "marketing", True, "2026-11-24T09:00:00Z"),
    delivered("c-1", "ord-shadowed-1", "2026-11-24T09:10:00Z"),
    delivered("c-2", "ord-shadowed-2", "2026-11-24T09:20:00Z"),
]


def decoded(records: list[Any]) -> list[dict[str, Any]]:
    values = [codec().decode(r.value) for r in records]
    assert all(isinstance(v, Decoded) for v in values)
    return [v.value for v in values if isinstance(v, Decoded)]


def test_when_a_shadow_policy_runs_then_only_the_policy_in_force_forwards_and_differences_are_kept(
    settings: Settings, tmp_path: Path
) -> None:
    shadow = shadow_policy(tmp_path)
    command = (str(PURPOSEGATE), "worker", "--shadow-policy", str(shadow))
    worker = WorkerProcess.start(settings, tmp_path, free_port(), {}, command=command)
    try:
        worker.wait_ready()
        watcher = TopicWatcher(settings, [topics.AUDIT, topics.SHADOW, CARGO])
        produce_raw(settings, [(r.topic, r.key, r.value) for r in encode_lines(LINES, codec())])
        seen = watcher.wait_for(len(LINES) + 2 + 2, timeout=90)  # audits, shadows, cargo
        watcher.close()
        by_topic = {t: [r for r in seen if r.topic == t] for t in (topics.SHADOW, CARGO)}
        assert [len(by_topic[t]) for t in (topics.SHADOW, CARGO)] == [2, 2], worker.log_tail()
        assert all("phone" in value for value in decoded(by_topic[CARGO]))  # in force: sent
        differences = decoded(by_topic[topics.SHADOW])
        assert {d["event_id"] for d in differences} == {"ord-shadowed-1", "ord-shadowed-2"}
        assert all(
            d["shadow_policy_version"] == load_policy(shadow).version
            and d["differences"] == [{"recipient": "septem-cargo", "purpose": "fulfilment",
                                      "item": "phone", "change": "lost"}]
            for d in differences
        )  # fmt: skip
        assert {r.key for r in by_topic[topics.SHADOW]} == {b"c-1", b"c-2"}
        url = f"http://127.0.0.1:{worker.web_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as page:  # noqa: S310 (loopback)
            text = page.read().decode()
        assert f"{LOSS} 2.0" in text
        shadow_lines = [line for line in text.splitlines() if "shadow_differences" in line]
        assert not [line for line in shadow_lines if "c-1" in line or "ord-" in line]
    finally:
        worker.stop()
