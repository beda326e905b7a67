"""``purposegate produce`` and ``purposegate dump`` against the real broker (no mocks)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from policy import topics
from tests.integration.avro_topics import CLI, create_topics, run_cli, settings_for
from tests.unit.wire.samples import INPUT_SAMPLES, sample
from wire import Codec, SchemaStore, stamp_headers
from wire.jsonvalues import to_json

pytestmark = pytest.mark.integration

STORE = SchemaStore.load()
RECORDS = {
    topics.ORDERS: "OrderEvent",
    topics.INQUIRIES: "InquiryEvent",
    topics.CAMPAIGN_ENTRIES: "CampaignEntry",
    topics.CONSENTS: "ConsentChange",
    topics.SUBJECT_REQUESTS: "SubjectRequest",
}


def _line(topic: str, **change: Any) -> str:
    value = to_json({**INPUT_SAMPLES[RECORDS[topic]], **change})
    return json.dumps({"topic": topic, "value": value}, ensure_ascii=False)


GOOD = [_line(t) for t in RECORDS] + [_line(topics.ORDERS, event_id="ev-0001b", status="paid")]
BAD_TYPE = _line(topics.ORDERS, total_jpy="a lot")


def _dump(settings: Any, *names: str, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    done = run_cli(["dump", *names, *extra], settings)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.parametrize(
    ("lines", "flags", "exit_code", "produced"),
    [
        (GOOD, [], 0, 6),  # all five input topics and a second order: everything produced
        (GOOD[:2] + [BAD_TYPE] + GOOD[2:], [], 1, 0),  # one bad line: all-or-nothing, none sent
        (GOOD[:2] + [BAD_TYPE] + GOOD[2:], ["--skip-invalid"], 1, 6),  # good lines sent anyway
        (["", *GOOD[:3], "  ", *GOOD[3:]], [], 0, 6),  # blank lines are skipped
    ],
)
def test_when_file_produced_then_dump_shows_the_same_records(
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
    lines: list[str],
    flags: list[str],
    exit_code: int,
    produced: int,
) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    create_topics(settings, RECORDS)
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    done = run_cli(["produce", str(path), *flags], settings)

    assert done.returncode == exit_code, done.stderr
    if exit_code:
        assert "line 3: orders: field 'total_jpy' must be an int" in done.stderr
        assert "a lot" not in done.stderr  # values are never echoed
    dumped = _dump(settings, *RECORDS)
    assert len(dumped) == produced
    if produced:
        by_event = {d["value"]["event_id"]: d for d in dumped}
        for line in GOOD:
            sent = json.loads(line)
            got = by_event[sent["value"]["event_id"]]
            assert got["topic"] == sent["topic"]
            assert got["key"] == sent["value"]["customer_id"]
            assert got["value"] == sent["value"]
            assert got["schema"] == RECORDS[sent["topic"]]
            # The Kafka timestamp is the send time (a past one would meet time-based retention).
            assert got["timestamp"] > sent["value"]["event_time"]
        orders = [d for d in dumped if d["topic"] == topics.ORDERS]
        assert [o["value"]["event_id"] for o in orders] == ["ev-0001", "ev-0001b"]  # file order


# Type-confused lines (docs/contract.md §1, one door): each is refused, never converted, and nothing
# of it reaches the topic, with or without --skip-invalid.
CONFUSED = [
    # "false" is no boolean: fastavro alone would write it as granted = true
    (_line(topics.CONSENTS, granted="false"), "field 'granted' must be a boolean"),
    # neither is 0
    (_line(topics.CONSENTS, granted=0), "field 'granted' must be a boolean"),
    # a boolean is no integer
    (_line(topics.ORDERS, total_jpy=True), "field 'total_jpy' must be an int"),
    # 1.0 is no integer either
    (_line(topics.ORDERS, total_jpy=1.0), "field 'total_jpy' must be an int"),
    # beyond Avro's int
    (_line(topics.ORDERS, total_jpy=2**31), "field 'total_jpy' must be an int"),
    # NaN is no JSON number
    (_line(topics.ORDERS).replace('"total_jpy": 15400', '"total_jpy": NaN'), "NaN or Infinity"),
]


@pytest.mark.parametrize("flags", [[], ["--skip-invalid"]])
@pytest.mark.parametrize(("line", "reason"), CONFUSED)
def test_when_a_value_has_the_wrong_type_then_produce_refuses_it_and_nothing_reaches_kafka(
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
    line: str,
    reason: str,
    flags: list[str],
) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    create_topics(settings, RECORDS)
    path = tmp_path / "in.jsonl"
    path.write_text(line + "\n", encoding="utf-8")

    done = run_cli(["produce", str(path), *flags], settings)

    assert done.returncode == 1, done.stderr
    assert "line 1: " in done.stderr and reason in done.stderr, done.stderr
    assert _dump(settings, *RECORDS) == []


def test_when_topic_holds_tombstones_garbage_and_stamped_outputs_then_dump_shows_each(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    schema = STORE.output_schema("septem-cargo", "fulfilment", "orders")
    assert schema is not None
    topic = "shared.septem-cargo.fulfilment"
    create_topics(settings, [topic], partitions=1)
    value = sample(schema)
    client = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    rows = [
        (b"c-1", Codec(STORE).encode(schema.name, value), stamp_headers(value)),  # an output
        (b"c-1", None, [("purposegate-erasure-reason", b"consent_withdrawn")]),  # a tombstone
        (b"\xff\xfe", b"not avro at all", []),  # garbage, and a key that is not UTF-8
    ]
    for key, raw, headers in rows:
        client.send(settings.topic(topic), key=key, value=raw, headers=headers)
    client.flush()
    client.close()

    output, tombstone, garbage = _dump(settings, topic)

    assert output["schema"] == schema.name
    assert output["value"]["event_time"] == "2026-11-24T09:30:00.123Z"
    assert output["headers"]["purposegate-purpose"] == value["purpose"]
    assert output["headers"]["purposegate-event-id"] == value["event_id"]
    assert tombstone["value"] is None and "error" not in tombstone
    assert tombstone["headers"] == {"purposegate-erasure-reason": "consent_withdrawn"}
    assert garbage["value"] is None and garbage["error_kind"] == "unknown_format"
    assert garbage["key_encoding"] == "base64"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["dump", "orders"], {}, "unknown topic(s)"),  # topic never created
        (["dump", "orders"], {"KAFKA_BOOTSTRAP": "127.0.0.1:1"}, "no Kafka broker answers"),
        (["produce", "{file}"], {"KAFKA_BOOTSTRAP": "127.0.0.1:1"}, "no Kafka broker answers"),
        (["produce", "{file}"], {}, "unknown topic(s)"),  # produce checks topics first
        (["produce", "/nonexistent/in.jsonl"], {}, "no such file"),  # missing input file
    ],
)
def test_when_topic_unknown_or_broker_unreachable_then_readable_error_and_exit_2(
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    path = tmp_path / "in.jsonl"
    path.write_text(GOOD[0] + "\n", encoding="utf-8")
    started = time.monotonic()

    done = run_cli([a.replace("{file}", str(path)) for a in args], settings, env=env)

    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 30  # short timeouts, no minute-long hang


def test_when_max_given_then_dump_stops_after_n(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    create_topics(settings, RECORDS)
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(GOOD) + "\n", encoding="utf-8")
    assert run_cli(["produce", str(path)], settings).returncode == 0

    assert len(_dump(settings, *RECORDS, extra=("--max", "2"))) == 2


def test_when_following_then_records_produced_later_appear(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    settings = settings_for(kafka_bootstrap, topic_prefix)
    create_topics(settings, [topics.CONSENTS], partitions=1)
    env = {"KAFKA_BOOTSTRAP": kafka_bootstrap, "PURPOSEGATE_TOPIC_PREFIX": topic_prefix}
    follower = subprocess.Popen(  # noqa: S603
        [CLI, "dump", topics.CONSENTS, "--follow", "--max", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        time.sleep(3)  # the follower has read the (empty) topic to its end and waits
        assert follower.poll() is None
        path = tmp_path / "in.jsonl"
        path.write_text(_line(topics.CONSENTS) + "\n", encoding="utf-8")
        assert run_cli(["produce", str(path)], settings).returncode == 0
        out, err = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, err
    assert json.loads(out)["value"]["event_id"] == INPUT_SAMPLES["ConsentChange"]["event_id"]
