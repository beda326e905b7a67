"""A real Prometheus server scrapes a real ``purposegate worker`` that processed a sample
stream: every dashboard query and every alert expression evaluates through the HTTP API, the
key ones return data, every rule evaluates healthy, and no personal value of the stream shows
up in ``/metrics`` or in Prometheus's stored labels."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bench.workers import PURPOSEGATE, WorkerProcess, free_port, settings_env
from broker import metrics, metrics_page
from config.settings import Settings
from policy.compile import compile_policy
from policy.keys import keys_from_file, write_dev_key_file
from policy.loader import load_policy
from policy.state import SubjectState
from policy.step import step
from policy.validation import Invalid, validate
from tests.integration.kafka_io import produce_raw
from tests.integration.prometheus_server import (
    Prometheus,
    start_prometheus,
    wait_for,
)
from tests.unit.deploy.dashboards import alert_expressions, dashboard_queries
from wire.jsonvalues import parse_timestamp

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

#: Grafana's variables for a stream a minute old, scraped every second.
QUERY_VARIABLES = {"$__rate_interval": "30s", "$__range": "5m", "$__interval": "1s"}
#: Bytes that are no Avro record of ours: the pipeline sends them to the DLQ.
GARBAGE = b"not avro at all"
#: Fields of the contract that hold personal data (or identify a person or an event).
PERSONAL_FIELDS = {
    "customer_id",
    "event_id",
    "order_id",
    "inquiry_id",
    "name",
    "email",
    "phone",
    "address",
    "postal_code",
    "subject",
    "message",
    "comment",
}


# --- the sample stream ---------------------------------------------------------------------


def sample_stream(tmp_path: Path, env: dict[str, str]) -> tuple[Path, list[dict[str, Any]]]:
    """A deterministic synthetic stream from ``purposegate sample`` (all five input topics)."""
    path = tmp_path / "sample.jsonl"
    subprocess.run(
        [str(PURPOSEGATE), "sample", "--seed", "7", "--customers", "40", "--events", "400"]
        + ["--out", str(path)],
        env=env,
        check=True,
        capture_output=True,
    )
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return path, lines


def personal_values(lines: list[dict[str, Any]]) -> set[str]:
    """Every string value of a personal field in the stream (names, e-mails, phones, ids,
    addresses, free text), long enough not to match by accident."""
    found: set[str] = set()

    def walk(value: Any, field: str | None) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, key)
        elif isinstance(value, list):
            for item in value:
                walk(item, field)
        elif isinstance(value, str) and field in PERSONAL_FIELDS and len(value) >= 6:
            found.add(value)

    for line in lines:
        walk(line["value"], None)
    return found


# --- what Prometheus scrapes --------------------------------------------------------------


@dataclass
class Scraped:
    source: str
    prometheus: Prometheus
    metrics_text: Any  # () -> str: the scraped page now
    lines: list[dict[str, Any]]


def _keys_file(tmp: Path) -> Path:
    path = tmp / "pseudonym-keys.json"
    write_dev_key_file(path, [recipient.id for recipient in load_policy().recipients])
    return path


@contextlib.contextmanager
def _worker(kafka_bootstrap: str, tmp: Path) -> Iterator[tuple[int, Any, list[dict[str, Any]]]]:
    """The real ``purposegate worker`` fed the sample stream (and one garbage record)."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    settings = Settings.model_validate(
        {
            "KAFKA_BOOTSTRAP": kafka_bootstrap,
            "PURPOSEGATE_TOPIC_PREFIX": prefix,
            "PURPOSEGATE_APP_ID": f"purposegate-{prefix.rstrip('.')}",
            "PURPOSEGATE_PSEUDONYM_KEYS_FILE": str(_keys_file(tmp)),
        }
    )
    worker = WorkerProcess.start(settings, tmp, web_port=free_port(), extra_env={})
    try:
        worker.wait_ready(timeout=90)
        env = {**os.environ, **settings_env(settings)}
        path, lines = sample_stream(tmp, env)
        subprocess.run([str(PURPOSEGATE), "produce", str(path)], env=env, check=True)
        produce_raw(settings, [("orders", b"cust-garbage", GARBAGE)])
        yield worker.web_port, worker.metrics, lines
    finally:
        worker.stop()


@contextlib.contextmanager
def _standin(tmp: Path) -> Iterator[tuple[int, Any, list[dict[str, Any]]]]:
    """``render_metrics()`` served by a test HTTP server after the real engine decided the
    sample stream in-process: everything but Faust and Kafka."""
    compiled = compile_policy(load_policy(), keys_from_file(_keys_file(tmp)))
    _, lines = sample_stream(tmp, dict(os.environ))
    metrics.initialise_series()
    metrics.set_policy_version(compiled.policy_version)
    states: dict[str, SubjectState] = {}
    for line in lines:
        started = time.perf_counter()
        value = dict(line["value"], event_time=parse_timestamp(line["value"]["event_time"]))
        checked = validate(line["topic"], value, compiled, datetime.now(UTC))
        if isinstance(checked, Invalid):
            metrics.observe_dlq(line["topic"], checked.error_kind)
            continue
        state = states.get(checked.customer_id, SubjectState.empty())
        states[checked.customer_id], decision = step(checked, state, compiled)
        metrics.observe_decision(decision)
        metrics.observe_processing(time.perf_counter() - started)
    metrics.observe_dlq("orders", "unknown_format")  # the garbage record
    fresh_start = f"process_start_time_seconds {time.time():.3f}".encode()  # no-events alert

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            page = metrics_page.render_metrics()
            body = re.sub(rb"^process_start_time_seconds .*$", fresh_start, page, flags=re.M)
            self.send_response(200)
            self.send_header("Content-Type", metrics_page.CONTENT_TYPE)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], lambda: metrics_page.render_metrics().decode(), lines
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(
    scope="module",
    params=[
        "standin",  # engine + metrics in-process, no Faust: checks Prometheus, rules, dashboard
        "worker",  # the real worker on the real broker: the production path
    ],
)
def scraped(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scraped]:
    """A metrics source that processed the sample stream, scraped by a real Prometheus."""
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "worker":
        source = _worker(request.getfixturevalue("kafka_bootstrap"), tmp)
    else:
        source = _standin(tmp)
    with source as (port, metrics_text, lines), start_prometheus(tmp, port) as prometheus:
        expected = len(lines) + 1
        wait_for(
            lambda: prometheus.value("sum(purposegate_events_total)") >= expected,
            120,
            lambda: f"Prometheus saw fewer than {expected} events:\n{metrics_text()[:3000]}",
        )
        if request.param == "worker":  # lag is refreshed every 5 s once offsets commit
            wait_for(
                lambda: bool(prometheus.query("purposegate_consumer_lag")["data"]["result"]),
                60,
                lambda: "no consumer lag series",
            )
        time.sleep(3)  # a few more scrapes and rule evaluations
        yield Scraped(request.param, prometheus, metrics_text, lines)


# --- tests ---------------------------------------------------------------------------------

#: Queries that must return data after the sample stream (the others may rightly be empty:
#: no unclassified field, no withdrawal in the window, no alert but the DLQ one).
KEY_QUERIES = {
    "Workers up / A",
    "Policy version in force / A",
    "Events/s by source topic / A",
    "Events/s by outcome / A",
    "Decisions/s by recipient × purpose × outcome / A",
    "Block reasons / A",
    "Records provided to group companies (range) / A",
    "Redactions by field category / A",
    "DLQ records/s by topic and error kind / A",
    "Processing latency p50 / p95 / p99 / A",
    "Processing latency p50 / p95 / p99 / C",
    "PurposegateDeadLetters",
}
#: Only the real worker has Faust's sensor and a consumer group with lag.
WORKER_KEY_QUERIES = {"Consumer lag by topic / A", "Faust: messages received and sent/s / A"}


def test_when_worker_scraped_then_every_dashboard_and_alert_query_evaluates(
    scraped: Scraped,
) -> None:
    queries = dashboard_queries(QUERY_VARIABLES) + alert_expressions()
    key = KEY_QUERIES | (WORKER_KEY_QUERIES if scraped.source == "worker" else set())
    failures, empty = [], []
    for name, expr in queries:
        body = scraped.prometheus.query(expr)
        if body.get("status") != "success":
            failures.append(f"{name}: {body.get('error')}")
        elif name in key and not body["data"]["result"]:
            empty.append(name)
    assert not failures, failures
    assert not empty, f"key queries without data: {empty}"
    assert {name for name, _ in queries} >= key, "a key query was renamed"


def test_when_rules_loaded_then_every_rule_evaluates_healthy(scraped: Scraped) -> None:
    groups = scraped.prometheus.get("/api/v1/rules")["data"]["groups"]
    rules = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert {name for name, _ in alert_expressions()} <= rules.keys()
    unhealthy = {name: rule.get("lastError") for name, rule in rules.items()}
    unhealthy = {name: err for name, err in unhealthy.items() if rules[name]["health"] != "ok"}
    assert not unhealthy
    # the garbage record is in the DLQ: its alert is active; the pipeline is not down or idle
    active = {name for name, rule in rules.items() if rule.get("state") in ("pending", "firing")}
    assert "PurposegateDeadLetters" in active
    assert not active & {
        "PurposegateWorkerDown",
        "PurposegateNoEvents",
        "PurposegateUnclassifiedFields",
    }


@pytest.mark.parametrize(
    "where",
    [
        "metrics_page",  # the worker's /metrics text
        "prometheus_labels",  # every label value Prometheus stored from the scrapes
    ],
)
def test_when_sample_stream_processed_then_no_personal_value_is_exported(
    scraped: Scraped, where: str
) -> None:
    values = personal_values(scraped.lines)
    assert len(values) > 100  # the scan has something to look for
    if where == "metrics_page":
        text = scraped.metrics_text()
    else:
        names = scraped.prometheus.get("/api/v1/labels")["data"]
        text = "\n".join(
            value
            for name in names
            for value in scraped.prometheus.get(f"/api/v1/label/{name}/values")["data"]
        )
    leaked = sorted(value for value in values if value in text)
    assert not leaked, f"{len(leaked)} personal values exported, e.g. {leaked[:1]!r}"
