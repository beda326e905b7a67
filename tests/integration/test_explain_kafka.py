"""``purposegate explain`` and ``dump`` where they read Kafka: the worker keeps the policy version
it decides under on ``purposegate.policies``, and ``explain`` explains with that version even
when another policy is in force; a version nobody kept is said so, never replaced."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.lines import consent_line, order_line
from broker.admin import ensure_topics, topic_specs
from broker.clients import producer
from config.settings import Settings
from policy import topics
from policy.compile import compile_policy
from policy.keys import load_keys
from policy.loader import DEFAULT_POLICY, load_policy
from tests.integration.avro_topics import create_topics, run_cli
from tests.integration.kafka_io import TopicWatcher, produce_raw
from tests.integration.streams_for_tests import codec as input_codec
from wire import Codec, SchemaStore
from wire.headers import audit_headers, encoded
from wire.input_lines import Prepared, prepare
from wire.store import AUDIT_RECORD

pytestmark = pytest.mark.integration

THEN_COMPANY = "SEPTEM Cargo Co Ltd (as the deciding policy names it)"


def policy_then(tmp_path: Path) -> Path:
    """The shipped policy with a different company name: another version, same schemas."""
    document = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    cargo = next(r for r in document["recipients"] if r["id"] == "septem-cargo")
    cargo["company"] = THEN_COMPANY
    path = tmp_path / "policy-then.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def decide_one_order(settings: Settings, start_worker: Any, policy: Path) -> None:
    worker = start_worker(PURPOSEGATE_POLICY=str(policy))
    worker.wait_ready()
    codec = input_codec()
    lines = [  # a marketing withdrawal, then an order: marketing is blocked because of it
        consent_line("c-1", "con-withdrawn", "marketing", False, "2026-11-24T09:00:00Z"),
        order_line("c-1", "ord-explained", "2026-11-24T09:10:00Z"),
    ]
    records = [r for r in prepare(lines, codec, load_policy()) if isinstance(r, Prepared)]
    audit = TopicWatcher(settings, [topics.AUDIT])
    try:
        for record in records:  # one at a time: the withdrawal is in force before the order
            produce_raw(settings, [(record.topic, record.key, record.value)])
            audit.wait_for(len(audit.seen) + 1, timeout=60)
        assert len(audit.seen) == 2, worker.log_tail()
    finally:
        audit.close()


def test_when_today_policy_differs_then_explain_on_kafka_uses_the_version_kept_by_the_worker(
    settings: Settings, start_worker: Any, tmp_path: Path
) -> None:
    then = policy_then(tmp_path)
    decide_one_order(settings, start_worker, then)
    version = load_policy(then).version
    today = {"PURPOSEGATE_POLICY": str(DEFAULT_POLICY)}
    assert load_policy(DEFAULT_POLICY).version != version

    done = run_cli(["explain", "ord-explained"], settings, env=today)

    assert done.returncode == 0, done.stderr
    assert f"policy version {version} (the version that decided)" in done.stdout
    assert f"septem-cargo ({THEN_COMPANY}, JP) for fulfilment: FORWARDED" in done.stdout
    assert "because of: the consent change con-withdrawn" in done.stdout
    kept = run_cli(["dump", topics.POLICIES], settings)
    assert kept.returncode == 0, kept.stderr
    [record] = [json.loads(line) for line in kept.stdout.splitlines()]
    assert record["key"] == version
    assert record["value"]["policy_version"] == version
    assert yaml.safe_load(record["value"]["policy_yaml"]) == yaml.safe_load(then.read_text())


def test_when_the_deciding_version_was_never_kept_then_explain_on_kafka_says_so_and_exits_one(
    settings: Settings, start_worker: Any, tmp_path: Path
) -> None:
    decide_one_order(settings, start_worker, DEFAULT_POLICY)
    unknown = "0" * 16
    ghost = {
        "event_id": "ord-ghost", "event_time": datetime(2026, 11, 24, tzinfo=UTC),
        "source_topic": topics.ORDERS, "customer_id": "c-2", "purposes": ["fulfilment"],
        "policy_version": unknown, "decisions": [], "state_change": None,
        "unclassified_fields": [], "tombstone_topics": [],
    }  # fmt: skip
    client = producer(settings)
    value = Codec(SchemaStore.load(), settings).encode(AUDIT_RECORD, ghost)
    headers = encoded(audit_headers("ord-ghost", unknown, topics.ORDERS))
    client.send(settings.topic(topics.AUDIT), key=b"c-2", value=value, headers=headers).get(30)
    client.close()

    done = run_cli(["explain", "ord-ghost"], settings)

    assert done.returncode == 1
    assert done.stdout == ""
    assert f"the policy version that decided it, {unknown}, is not kept" in done.stderr
    assert f"topic {settings.topic(topics.POLICIES)}" in done.stderr
    assert "Traceback" not in done.stderr


def test_when_an_audit_record_of_the_event_does_not_decode_then_explain_says_so(
    settings: Settings,
) -> None:
    create_topics(settings, [topics.AUDIT], partitions=1)
    client = producer(settings)
    headers = encoded(audit_headers("ord-garbled", "0" * 16, topics.ORDERS))
    client.send(settings.topic(topics.AUDIT), key=b"c-3", value=b"not avro", headers=headers).get(
        30
    )
    client.close()

    done = run_cli(["explain", "ord-garbled"], settings)

    assert done.returncode == 1
    assert "the audit record at partition 0 offset 0 does not decode" in done.stderr
    assert "no audit record" not in done.stdout


def test_when_the_worker_cannot_keep_its_policy_version_then_it_does_not_start(
    settings: Settings, pseudonym_keys_file: Path
) -> None:
    compiled = compile_policy(load_policy(), load_keys(settings))
    specs = topic_specs(settings, compiled.shared_topics)
    ensure_topics(settings, [s for s in specs if s.name != topics.POLICIES])
    # the wait for the missing topic's metadata: KAFKA_CONNECT_TIMEOUT_S (30 s by default)
    env = {
        "PURPOSEGATE_PSEUDONYM_KEYS_FILE": str(pseudonym_keys_file),
        "KAFKA_CONNECT_TIMEOUT_S": "5",
    }

    done = run_cli(["worker", "--no-create-topics"], settings, env=env, timeout=120)

    assert done.returncode == 2, done.stderr[-2000:]
    assert f"cannot keep the policy version in {settings.topic(topics.POLICIES)}" in done.stderr
    assert "Traceback" not in done.stderr
