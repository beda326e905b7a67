"""The privacy office's commands against the real broker, on what a worker decided: ``affected``
reads only the audit window it needs (by Kafka timestamp), ``policies`` names the version the
worker ran with its first and last decision, ``explain`` names the version's first-use date,
and ``report --lang ja`` finds the subject's DLQ'd input by its key and refuses an unknown id."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.lines import consent_line, order_line
from config.settings import Settings
from policy import topics
from policy.loader import load_policy
from tests.integration.avro_topics import run_cli
from tests.integration.kafka_io import TopicWatcher, produce_raw
from tests.integration.streams_for_tests import codec, encode_lines
from wire.jsonvalues import format_timestamp

pytestmark = pytest.mark.integration

SUBJECT, OTHER = "c-2", "c-1"
LINES = [
    consent_line(SUBJECT, "con-grant", "marketing", True, "2026-11-24T09:00:00Z"),
    order_line(SUBJECT, "ord-marketed", "2026-11-24T09:10:00Z"),
    order_line(OTHER, "ord-other", "2026-11-24T09:15:00Z"),
]


def decide(settings: Settings, start_worker: Any) -> tuple[datetime, datetime]:
    """The worker decides LINES and one undecodable order of SUBJECT (to the DLQ); returns the
    wall-clock window around it."""
    worker = start_worker()
    worker.wait_ready()
    started = datetime.now(UTC)
    records = [(r.topic, r.key, r.value) for r in encode_lines(LINES, codec())]
    watcher = TopicWatcher(settings, [topics.AUDIT, topics.DLQ])
    try:
        produce_raw(settings, [*records, (topics.ORDERS, SUBJECT.encode(), b"\x00not avro")])
        watcher.wait_for(len(LINES) + 1, timeout=90)
        assert len(watcher.seen) == len(LINES) + 1, worker.log_tail()
    finally:
        watcher.close()
    return started - timedelta(seconds=1), datetime.now(UTC) + timedelta(seconds=1)


def test_when_the_worker_decided_then_office_commands_read_kafka(
    settings: Settings, start_worker: Any
) -> None:
    start, end = decide(settings, start_worker)
    window = ["--from", format_timestamp(start), "--to", format_timestamp(end)]
    mailings = ["affected", "--recipient", "septem-communications", *window]

    found = run_cli([*mailings, "--format", "json"], settings)
    assert found.returncode == 0, found.stderr
    sized = json.loads(found.stdout)
    assert (sized["subjects"], sized["records"]) == (1, 1)
    assert "name" in sized["purposes"]["marketing"]["items"]
    listed = run_cli([*mailings, "--format", "csv"], settings)
    # the customer id for the office's mailing, and the subject id that recipient got
    assert [row.split(",")[0] for row in listed.stdout.splitlines()[1:]] == [SUBJECT]
    # the hour before: nothing was sent then, and nothing of the window is read
    earlier = ["--from", format_timestamp(start - timedelta(hours=1)), "--to", window[1]]
    before = run_cli(
        ["affected", "--recipient", "septem-cargo", *earlier, "--format", "json"], settings
    )
    assert json.loads(before.stdout)["audit_records_in_window"] == 0, before.stderr

    kept = run_cli(["policies", "--format", "json"], settings)
    assert kept.returncode == 0, kept.stderr
    [entry] = json.loads(kept.stdout)
    assert (entry["version"], entry["kept"], entry["audit_records"]) == (
        load_policy().version,
        True,
        len(LINES),
    )
    assert format_timestamp(start) <= entry["first_decided"] <= entry["last_decided"]

    explained = run_cli(["explain", "ord-marketed"], settings)
    assert f"first decided {start:%Y-%m-%d} UTC" in explained.stdout, explained.stderr

    japanese = run_cli(["report", SUBJECT, "--lang", "ja"], settings)
    assert japanese.returncode == 0, japanese.stderr
    assert "2026年11月24日 18:10 (JST)" in japanese.stdout
    assert "メッセージのうち1件を処理できませんでした" in japanese.stdout
    unknown = run_cli(["report", "c-nobody"], settings)
    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert "no audit record names this id; check it" in unknown.stderr
