"""Erasure you can prove, on the real broker (docs/contract.md §3): after a withdrawal, the notice
to a recipient whose consumer group reads goes pending → read → gone (its topic's records
deleted by the broker within the stated bound, none left when read from the beginning), the
notice to one that never reads goes pending → overdue; a second worker (a rebalance) and the
first one killed (a restart) keep every notice's state, and the gauge counts each notice once.

The test policy gives the two marketing topics short times (20 s retention and 2 s segments on
Communications' topic, 25 s to read on AFFECTUS'); the test broker checks retention every 5 s
(``deploy/kafka/kafka.sh``; Kafka's default is 5 min), and the bound ``erasures`` states uses
the broker's own value.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.lines import consent_line, order_line
from bench.workers import WorkerProcess
from broker.clients import consumer
from config.settings import Settings
from policy import topics
from policy.keys import keys_from_file
from policy.loader import DEFAULT_POLICY, load_policy
from tests.integration.avro_topics import run_cli
from tests.integration.kafka_io import TopicWatcher, produce_raw, read_topics
from wire import Codec, SchemaStore
from wire.input_lines import Prepared, prepare
from wire.topic_schemas import wire_schemas

pytestmark = pytest.mark.integration

READER_TOPIC = "shared.septem-communications.marketing"
SILENT_TOPIC = "shared.affectus.marketing"
READER_GROUP = "septem-communications.marketing"
TERMS = {
    "septem-communications": (
        "    retention: 20s\n    segment_roll: 2s\n    erasure_read_within: 1h\n"
    ),
    "affectus": "    retention: 14d\n    erasure_read_within: 25s\n",
}


def short_policy(tmp_path: Path) -> Path:
    """The shipped policy with short erasure terms on the two marketing topics."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    for recipient, terms in TERMS.items():
        for source in ("orders", "campaign-entries"):
            route = f"  - recipient: {recipient}\n    purpose: marketing\n    source: {source}\n"
            retention = "    retention: 14d\n"
            assert text.count(route + retention) == 1, (recipient, source)
            text = text.replace(route + retention, route + terms)
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def lines_for(now: datetime) -> tuple[list[str], list[str]]:
    """Grants and orders of a subject in JP and one in SG; then their withdrawals."""
    sg_order = json.loads(order_line("c-sg", "ord-sg", iso(now - timedelta(hours=1))))
    sg_order["value"]["country"] = "SG"
    before = [
        consent_line("c-jp", "con-jp-grant", "marketing", True, iso(now - timedelta(hours=2))),
        consent_line("c-sg", "con-sg-grant", "marketing", True, iso(now - timedelta(hours=2))),
        consent_line("c-sg", "con-sg-xb", "cross_border", True, iso(now - timedelta(hours=2))),
        order_line("c-jp", "ord-jp", iso(now - timedelta(hours=1))),
        json.dumps(sg_order),
    ]
    after = [
        consent_line("c-jp", "con-jp-stop", "marketing", False, iso(now - timedelta(minutes=5))),
        consent_line("c-sg", "con-sg-stop", "marketing", False, iso(now - timedelta(minutes=5))),
    ]
    return before, after


def send(settings: Settings, policy: Path, lines: list[str]) -> None:
    compiled = load_policy(policy)
    store = SchemaStore.load()
    codec = Codec(store, settings)
    codec.bind_topics(wire_schemas(compiled, store), settings.topic)
    records = [r for r in prepare(lines, codec, compiled) if isinstance(r, Prepared)]
    assert len(records) == len(lines)
    produce_raw(settings, [(r.topic, r.key, r.value) for r in records])


def erasures(settings: Settings, env: dict[str, str], *extra: str) -> dict[str, Any]:
    done = run_cli(["erasures", "--format", "json", *extra], settings, env)
    assert done.returncode in (0, 1), done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def customer_of(settings: Settings) -> dict[tuple[str, str], str]:
    """(recipient, the subject id that recipient got) -> the test's customer id: shared topics
    are keyed by the recipient's subject id (contract §3), the test names customers."""
    assert settings.pseudonym_keys_file is not None
    keys = keys_from_file(settings.pseudonym_keys_file)
    return {
        (recipient, keys.pseudonymiser(recipient)(customer)): customer
        for recipient in ("septem-communications", "affectus")
        for customer in ("c-jp", "c-sg")
    }


def states(settings: Settings, env: dict[str, str]) -> dict[tuple[str, str], str]:
    """Each notice's state by recipient and the customer its subject key stands for."""
    notices = erasures(settings, env)["notices"]
    back = customer_of(settings)
    return {
        (n["recipient"], back.get((n["recipient"], n["subject_key"]), n["subject_key"])): n["state"]
        for n in notices
    }


READ = ("read", "gone")
JP, SG, SILENT = (
    ("septem-communications", "c-jp"),
    ("septem-communications", "c-sg"),
    ("affectus", "c-sg"),
)


def wait_until(what: Callable[[], bool], timeout: float, why: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return
        time.sleep(1)
    raise AssertionError(f"not within {timeout}s: {why}")


def read_and_commit(settings: Settings) -> list[tuple[bytes, bool]]:
    """The reading recipient: reads its topic to the end with its group and commits; the keys
    it read, each with whether it was a tombstone."""
    client = consumer(
        settings, group_id=READER_GROUP, auto_offset_reset="earliest", enable_auto_commit=False
    )
    try:
        client.subscribe([settings.topic(READER_TOPIC)])
        seen: list[tuple[bytes, bool]] = []
        deadline = time.monotonic() + 30
        while sum(dead for _, dead in seen) < 2 and time.monotonic() < deadline:
            for batch in client.poll(timeout_ms=500).values():
                seen += [(r.key, r.value is None) for r in batch]
        client.commit()
        back = customer_of(settings)
        return [
            (back.get(("septem-communications", key.decode()), key.decode()).encode(), dead)
            for key, dead in seen
        ]
    finally:
        client.close()


def gauge(workers: list[WorkerProcess]) -> dict[tuple[str, str], float]:
    """``purposegate_erasure_notices`` summed over the workers' /metrics pages."""
    total: dict[tuple[str, str], float] = {}
    pattern = re.compile(r'^purposegate_erasure_notices\{recipient="([^"]+)",state="(\w+)"\} (\S+)')
    for worker in workers:
        for line in worker.metrics().splitlines():
            found = pattern.match(line)
            if found:
                where = (found[1], found[2])
                total[where] = total.get(where, 0.0) + float(found[3])
    return {k: v for k, v in total.items() if v}


def test_when_a_withdrawal_is_noticed_then_one_group_reads_it_and_the_other_is_overdue(
    settings: Settings, start_worker: Any, tmp_path: Path
) -> None:
    policy = short_policy(tmp_path)
    env = {"PURPOSEGATE_POLICY": str(policy), "PURPOSEGATE_ERASURE_CHECK_S": "1"}
    cli_env = {**env, "PURPOSEGATE_PSEUDONYM_KEYS_FILE": str(settings.pseudonym_keys_file)}
    first = start_worker(**env)
    first.wait_ready()
    before, after = lines_for(datetime.now(UTC).replace(microsecond=0))
    audit = TopicWatcher(settings, [topics.AUDIT])
    try:
        send(settings, policy, before)
        audit.wait_for(len(before), timeout=60)
        send(settings, policy, after)
        audit.wait_for(len(before) + len(after), timeout=60)
    finally:
        audit.close()
    # both notices recorded before the withdrawals were acked; nobody has read them yet
    # (Communications gets both subjects' orders, AFFECTUS only those outside JP)
    wait_until(lambda: len(states(settings, cli_env)) == 3, 30, "three notices")
    assert states(settings, cli_env) == {JP: "pending", SG: "pending", SILENT: "pending"}
    assert sorted(read_and_commit(settings)) == [
        (b"c-jp", False), (b"c-jp", True), (b"c-sg", False), (b"c-sg", True)
    ]  # fmt: skip
    # read, then (20 s later) gone: both read by now
    wait_until(lambda: states(settings, cli_env)[JP] in READ, 30, "read receipt")
    wait_until(lambda: states(settings, cli_env)[SILENT] == "overdue", 40, "overdue")
    assert states(settings, cli_env)[SG] in READ
    # a subject's notices: by customer id, whatever key the tombstones carried
    mine = erasures(settings, cli_env, "--subject", "c-sg")["notices"]
    assert sorted((n["topic"], n["event_id"], n["state"] in READ) for n in mine) == [
        (SILENT_TOPIC, "con-sg-stop", False), (READER_TOPIC, "con-sg-stop", True)
    ]  # fmt: skip
    overdue = run_cli(["erasures", "--overdue"], settings, cli_env)
    assert overdue.returncode == 1 and "affectus" in overdue.stdout, overdue.stdout
    # the broker deletes Communications' records within the bound (20 s + 2 s + 5 s + a check)
    wait_until(lambda: states(settings, cli_env)[JP] == "gone", 90, "gone")
    assert read_topics(settings, [READER_TOPIC], idle=2.0, timeout=10) == []
    (gone,) = erasures(settings, cli_env, "--subject", "c-jp")["notices"]
    told, gone_by = (datetime.fromisoformat(gone[k]) for k in ("told_at", "gone_by"))
    assert gone_by - told == timedelta(seconds=20 + 2 + 5 + 60)  # + file.delete.delay.ms
    assert datetime.fromisoformat(gone["gone_at"]) <= gone_by
    # the subjects' reports say it per recipient: told, read, gone / overdue
    report = json.loads(run_cli(["report", "c-jp", "--format", "json"], settings, cli_env).stdout)
    (state,) = report["erasure_states"]
    assert (state["recipient"]["id"], state["state"]) == ("septem-communications", "gone")
    assert state["told_at"] and state["read_at"] and state["gone_at"]
    text = run_cli(["report", "c-sg"], settings, cli_env).stdout
    assert "AFFECTUS PTE LTD" in text and "has not read the notice yet, overdue since" in text
    # a rebalance (a second worker) then a restart (the first killed): every state kept,
    # each notice counted once over all workers
    expected = {("septem-communications", "gone"): 2.0, ("affectus", "overdue"): 1.0}
    wait_until(lambda: gauge([first]) == expected, 30, "the leader's gauge")
    second = start_worker(**env)
    second.wait_ready()
    first.kill()
    wait_until(lambda: gauge([second]) == expected, 60, "the new leader's gauge")
    assert states(settings, cli_env) == {JP: "gone", SG: "gone", SILENT: "overdue"}
