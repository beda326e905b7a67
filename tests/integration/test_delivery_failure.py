"""No ack without delivery: an output the broker refuses never lets its input be committed.

One output topic (``shared.affectus.marketing``: orders and campaign entries of customers abroad
who consented to marketing and to the provision abroad) is set to a ``max.message.bytes``
smaller than any record, so the broker refuses every batch sent there. The worker must stop
without committing past the first input routed there, in each input partition; once the topic
takes records again, a new worker reads those inputs again and nothing is lost.

If the topic never takes them (``agents.refusals``), it stops ``PURPOSEGATE_DELIVERY_ATTEMPTS``
worker runs (as a supervisor restarts the worker); then it is held, and every input with a record
for it goes to the DLQ with a readable reason, its state change kept; the rest flows.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from bench.workers import WorkerProcess
from broker.clients import admin_client
from config.settings import Settings
from policy import topics
from tests.integration.kafka_io import produce_raw, read_topics
from tests.integration.streams_for_tests import (
    backlog,
    codec,
    compare_with_dry_run,
    create_topics,
    dry_run,
    encode_lines,
    partition_of,
    sample_lines,
)
from wire import Codec, Decoded
from wire.headers import ERROR_KIND, EVENT_ID

pytestmark = pytest.mark.integration

REFUSING = "shared.affectus.marketing"
#: Refuses for ever in the second test: marketing mail, 162 records spread through the backlog
#: and withdrawals (whose tombstones to the campaign deliveries' topic must still go).
REFUSING_FOR_EVER = "shared.septem-communications.marketing"


def set_max_message_bytes(settings: Settings, logical_topic: str, size: int) -> None:
    admin = admin_client(settings)
    try:
        resource = ConfigResource(
            ConfigResourceType.TOPIC,
            settings.topic(logical_topic),
            configs={"max.message.bytes": str(size)},
        )
        admin.alter_configs([resource], raise_on_unknown=False)
    finally:
        admin.close()


def committed_offsets(settings: Settings) -> dict[tuple[str, int], int]:
    admin = admin_client(settings)
    try:
        groups: dict[str, Any] = admin.list_group_offsets(settings.app_id)
    finally:
        admin.close()
    offsets: dict[Any, Any] = groups.get(settings.app_id, {})
    prefix = settings.topic_prefix
    return {(tp.topic[len(prefix) :], tp.partition): meta.offset for tp, meta in offsets.items()}


def first_refused(
    ordered: list[Any], refused_lines: set[int], partitions: int
) -> dict[tuple[str, int], int]:
    """Per input topic-partition, the offset of the first input with an output to REFUSING."""
    offsets: dict[tuple[str, int], int] = {}
    next_offset: dict[tuple[str, int], int] = {}
    for record in ordered:
        where = (record.topic, partition_of(record.key, partitions))
        offset = next_offset.get(where, 0)
        next_offset[where] = offset + 1
        if record.line in refused_lines and where not in offsets:
            offsets[where] = offset
    return offsets


def test_when_the_broker_refuses_an_output_then_its_input_is_not_committed_and_nothing_is_lost(
    settings: Settings, start_worker: Any, tmp_path: Path, pseudonym_keys_file: Path
) -> None:
    lines = sample_lines(tmp_path / "sample.jsonl", seed=17, customers=60, events=1200)
    expected = dry_run(lines, tmp_path, pseudonym_keys_file)
    c: Codec = codec()
    records = encode_lines(lines, c)
    refused_ids = {r["value"]["event_id"] for r in expected[REFUSING] if r["value"]}
    refused_lines = {
        r.line for r, line in zip(records, lines, strict=True)
        if json.loads(line)["value"]["event_id"] in refused_ids
    }  # fmt: skip
    create_topics(settings)
    set_max_message_bytes(settings, REFUSING, 64)  # smaller than any record batch
    ordered = backlog(lines, records, settings.partitions, seed=23)
    produce_raw(settings, ((r.topic, r.key, r.value) for r in ordered))
    refused_at = first_refused(ordered, refused_lines, settings.partitions)
    assert any(offset > 0 for offset in refused_at.values()), "too early in every partition"

    failing: WorkerProcess = start_worker()
    exit_code = failing.process.wait(timeout=120)
    log = failing.log_path.read_text(errors="replace")
    assert exit_code == 3, "the worker went on, or stopped otherwise, after a refused delivery"
    assert "could not be finished (MessageSizeTooLargeError)" in log
    committed = committed_offsets(settings)
    passed = {
        where: committed[where]
        for where in refused_at
        if committed.get(where, 0) > refused_at[where]
    }
    print(f"first refused inputs at {refused_at}; committed {committed}")
    assert passed == {}, f"committed past an input whose output was refused: {passed}"

    set_max_message_bytes(settings, REFUSING, 1_048_588)
    worker = start_worker()
    worker.wait_ready()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        result = compare_with_dry_run(settings, c, expected)
        if result.lost == 0:
            break
    print(f"after the topic took records again: {result}")
    assert result.lost == 0, worker.log_tail()
    assert result.unexpected == 0, f"records the policy would not send: {result.examples}"


def event_ids_on(lines: list[dict[str, Any]]) -> set[str]:
    """The events behind dry-run lines: a record's own id, a tombstone's header."""
    return {
        line["value"]["event_id"] if line["value"] else line["headers"][EVENT_ID] for line in lines
    }


def without_events(
    expected: dict[str, list[dict[str, Any]]], events: set[str], refusing: str
) -> dict[str, list[dict[str, Any]]]:
    """The dry run's forwarded and audit records (what ``compare_with_dry_run`` reads), but
    none on the refusing topic, and none of ``events``' but their tombstones. With ``events``,
    no pseudonymised record either: its event id is the recipient's own, so which event it
    comes from cannot be told here."""
    return {
        topic: [
            line
            for line in lines
            if line["value"] is None
            or (
                event_ids_on([line]).isdisjoint(events)
                and not (events and "subject_pseudonym" in line["value"])
            )
        ]
        for topic, lines in expected.items()
        if topic != refusing and (topic.startswith("shared.") or topic == topics.AUDIT)
    }


def test_when_an_output_is_refused_for_ever_then_its_inputs_go_to_the_dlq_after_the_attempts(
    settings: Settings, start_worker: Any, tmp_path: Path, pseudonym_keys_file: Path
) -> None:
    attempts = 2
    lines = sample_lines(tmp_path / "sample.jsonl", seed=23, customers=50, events=900)
    expected = dry_run(lines, tmp_path, pseudonym_keys_file)
    c: Codec = codec()
    records = encode_lines(lines, c)
    refused_events = event_ids_on(expected[REFUSING_FOR_EVER])
    withdrawn = event_ids_on([r for r in expected[REFUSING_FOR_EVER] if r["value"] is None])
    elsewhere = [
        line
        for topic, topic_lines in expected.items()
        if topic.startswith("shared.") and topic != REFUSING_FOR_EVER
        for line in topic_lines
        if line["value"] is None and event_ids_on([line]) <= withdrawn
    ]
    assert len(refused_events) > 100 and elsewhere, "the sample does not test what it should"
    create_topics(settings)
    set_max_message_bytes(settings, REFUSING_FOR_EVER, 64)  # for ever, in this test
    ordered = backlog(lines, records, settings.partitions, seed=23)
    produce_raw(settings, ((r.topic, r.key, r.value) for r in ordered))
    ends: dict[tuple[str, int], int] = {}
    for record in ordered:
        where = (record.topic, partition_of(record.key, settings.partitions))
        ends[where] = ends.get(where, 0) + 1

    env = {"PURPOSEGATE_DELIVERY_ATTEMPTS": str(attempts)}
    stopped = 0
    worker = start_worker(**env)
    for _ in range(3 * attempts):
        try:
            exit_code = worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            break  # it runs on
        log = worker.log_path.read_text(errors="replace")
        assert exit_code == 3, f"a worker stopped otherwise than for the refusal: {log[-3000:]}"
        assert "could not be finished (MessageSizeTooLargeError)" in log
        stopped += 1
        worker = start_worker(**env)  # what a supervisor does: the same command again
    print(f"{stopped} worker(s) stopped on the refusal before one went on")
    # the topic stopped `attempts` runs: then it is held, and what goes there is dead-lettered
    assert attempts <= stopped <= attempts + 1, "the refusals were not bounded"
    worker.wait_ready()
    deadline = time.monotonic() + 120
    committed = committed_offsets(settings)
    while committed != ends and time.monotonic() < deadline:
        time.sleep(1)
        committed = committed_offsets(settings)
    assert committed == ends, f"inputs not finished: committed {committed}, ends {ends}"
    assert worker.process.poll() is None, worker.log_tail()

    dead = read_topics(settings, [topics.DLQ])
    refused_letters = [r for r in dead if r.headers.get(ERROR_KIND) == b"delivery_refused"]
    letter_events = {r.headers[EVENT_ID].decode() for r in refused_letters}
    # each refused input went to the DLQ (more than once if a worker stopped before its
    # commit: at least once), and no other
    assert letter_events == refused_events
    decoded = c.decode(refused_letters[0].value)
    assert isinstance(decoded, Decoded)
    error = decoded.value["error"]
    assert REFUSING_FOR_EVER in error and "MessageSizeTooLargeError" in error, error
    assert read_topics(settings, [REFUSING_FOR_EVER], idle=1.0) == []

    required = without_events(expected, refused_events, REFUSING_FOR_EVER)
    result = compare_with_dry_run(settings, c, required)
    print(
        f"{len(refused_events)} refused inputs ({len(withdrawn)} withdrawals, {len(elsewhere)} "
        f"tombstones elsewhere); the other records and those tombstones: {result}"
    )
    assert result.lost == 0, worker.log_tail()
    # the earlier tries' records may be there too
    allowed = without_events(expected, set(), REFUSING_FOR_EVER)
    result = compare_with_dry_run(settings, c, allowed)
    assert result.unexpected == 0, f"records the policy would not send: {result.examples}"
