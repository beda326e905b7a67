"""Streams for the pipeline and reliability tests: samples, their dry run, the same stream put
on Kafka as a backlog in a random interleaving, and the comparison of what Kafka holds with what
the dry run expects."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kafka.partitioner.default import murmur2

from bench.workers import PURPOSEGATE
from broker.admin import ensure_topics, topic_specs
from config.settings import Settings
from policy import topics
from policy.loader import load_policy
from policy.ordering import Order, decision_order
from policy.validation import InputEvent
from tests.integration.kafka_io import Received, iter_topics
from tests.integration.registry import wire_env
from wire import Codec, Decoded
from wire.generate import load_checked
from wire.input_lines import BadLine, Prepared, prepare
from wire.jsonl import dumps
from wire.jsonvalues import from_json
from wire.registry import RegistryClient
from wire.topic_schemas import wire_schemas


def isolated_settings(kafka_bootstrap: str, workdir: Path, **env: str) -> Settings:
    """Settings of their own (topic prefix, app id, keys) for a module-scoped run."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    keys = workdir / "pseudonym-keys.json"
    subprocess.run([str(PURPOSEGATE), "keys", "--init", str(keys)], check=True, capture_output=True)
    return Settings.model_validate(
        {
            "KAFKA_BOOTSTRAP": kafka_bootstrap,
            "PURPOSEGATE_TOPIC_PREFIX": prefix,
            "PURPOSEGATE_APP_ID": f"purposegate-{prefix.rstrip('.')}",
            "PURPOSEGATE_PSEUDONYM_KEYS_FILE": str(keys),
            **wire_env(),
            **env,
        }
    )


def create_topics(settings: Settings) -> None:
    """The pipeline's topics, as the worker creates them, so a test can produce first."""
    ensure_topics(settings, topic_specs(settings, shared_topics()))


def codec() -> Codec:
    """Writes the tests' input records single-object (no subjects to register per topic
    prefix); reads both formats, the Confluent records the workers write with the session's
    registry (``SCHEMA_REGISTRY_URL``) too."""
    policy = load_policy()
    store = load_checked(policy)
    url = os.environ.get("SCHEMA_REGISTRY_URL")
    registry = RegistryClient(url) if url else None
    built = Codec(store, wire_format="single-object", registry=registry)
    built.bind_topics(wire_schemas(policy, store))
    return built


def shared_topics() -> list[str]:
    return sorted(set(load_policy().shared_topics()))


def sample_lines(path: Path, seed: int, customers: int, events: int) -> list[str]:
    subprocess.run(
        [str(PURPOSEGATE), "sample", "--seed", str(seed), "--customers", str(customers),
         "--events", str(events), "--out", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return path.read_text().splitlines()


def encode_lines(lines: list[str], codec: Codec) -> list[Prepared]:
    records = list(prepare(lines, codec, load_policy()))
    bad = [r for r in records if isinstance(r, BadLine)]
    assert not bad, f"lines that do not encode: {bad[:3]}"
    return [r for r in records if isinstance(r, Prepared)]


def encode_unchecked(lines: list[str], codec: Codec) -> list[Prepared]:
    """Lines the Avro schema takes but the policy's input rules refuse (an unknown status, a
    date far ahead), encoded as an upstream producer without purposegate's door writes them:
    what the worker's dead-letter path must meet. ``produce`` refuses such lines."""
    policy = load_policy()
    records = []
    for number, line in enumerate(lines, start=1):
        document = json.loads(line)
        topic = document["topic"]
        value = from_json(codec.store.get(policy.inputs[topic].record), document["value"])
        key = str(value["customer_id"]).encode()
        records.append(Prepared(number, topic, key, codec.encode_for(topic, value)))
    return records


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (and the worker's producer) picks for a key."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def line_order(line: str) -> Order:
    """A sample line's decision order (``event_time``, tie rank), as the pipeline sees it."""
    document = json.loads(line)
    value = dict(document["value"])
    value["event_time"] = datetime.fromisoformat(value["event_time"].replace("Z", "+00:00"))
    return decision_order(InputEvent(document["topic"], value))


def backlog(
    lines: list[str], records: list[Prepared], partitions: int, seed: int
) -> list[Prepared]:
    """The stream in the order a test produces it as a backlog: each input topic-partition in
    decision order (a source emits in event time; ties by line number, as the dry run breaks
    them), the topic-partitions interleaved at random (seeded)."""
    assert len(lines) == len(records)
    groups: dict[tuple[str, int], list[tuple[Order, int, Prepared]]] = {}
    for line, record in zip(lines, records, strict=True):
        where = (record.topic, partition_of(record.key, partitions))
        groups.setdefault(where, []).append((line_order(line), record.line, record))
    queues = [deque(sorted(group, key=lambda x: (x[0], x[1]))) for group in groups.values()]
    rng = random.Random(seed)  # noqa: S311 - a reproducible test interleaving
    out: list[Prepared] = []
    while queues:
        queue = rng.choice(queues)
        out.append(queue.popleft()[2])
        if not queue:
            queues.remove(queue)
    return out


def _dry_run_files(lines: list[str], workdir: Path, keys: Path) -> Path:
    """``purposegate dry-run`` of ``lines``; the folder of its output files."""
    source = workdir / "dry-input.jsonl"
    with source.open("w") as out:
        for line in lines:
            out.write(line + "\n")
    folder = workdir / "dry"
    subprocess.run(
        [str(PURPOSEGATE), "dry-run", "--input", str(source), "--out", str(folder), "--keys",
         str(keys)],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder


def dry_run(lines: list[str], workdir: Path, keys: Path) -> dict[str, list[dict[str, Any]]]:
    out = _dry_run_files(lines, workdir, keys)
    return {
        f.name.removesuffix(".jsonl"): [json.loads(line) for line in f.read_text().splitlines()]
        for f in out.glob("*.jsonl")
    }


def as_file_line(record: Received, codec: Codec) -> dict[str, Any]:
    """A record read from Kafka in the dry-run's file form, to compare like with like."""
    line: dict[str, Any] = {
        "topic": record.topic,
        "key": record.key.decode() if record.key is not None else None,
    }
    if record.value is None:
        line["value"] = None
        line["headers"] = {k: v.decode() for k, v in record.headers.items()}
    else:
        decoded = codec.decode(record.value)
        assert isinstance(decoded, Decoded), decoded
        line["value"] = json.loads(dumps(decoded.value))
    return line


@dataclass(frozen=True)
class Comparison:
    expected: int
    received: int
    lost: int
    duplicated: int
    unexpected: int
    #: audit records of replayed, since superseded consent changes and requests
    replayed_state_audits: int = 0
    #: audit records of replayed events decided again on a newer state: nothing forwarded
    #: that the dry run did not forward
    replayed_stricter: int = 0
    #: a few of the unexpected records, to say what went wrong
    examples: tuple[str, ...] = ()
    #: a few of the lost records (topic and the record as the dry run wrote it)
    lost_examples: tuple[str, ...] = ()

    def __str__(self) -> str:
        return (
            f"expected {self.expected}, received {self.received}, lost {self.lost}, "
            f"duplicated {self.duplicated}, replayed state audits {self.replayed_state_audits}, "
            f"replayed stricter {self.replayed_stricter}, unexpected {self.unexpected}"
        )


@dataclass(frozen=True)
class ExpectedRecords:
    """What the dry run wrote to the shared topics and the audit, held as a count per record
    (a 16-byte digest of its canonical line), not as the records: a million events' outputs fit
    in a few hundred MB. ``audit_lines`` reads the dry run's audit again when a comparison must
    look at the audit records of unexpected ones (replays after a crash)."""

    counts: Counter[bytes]
    total: int
    audit_lines: Callable[[], Iterable[dict[str, Any]]]
    dead_letters: int = 0
    #: every compared line again (shared topics and audit), to name what a comparison lost
    all_lines: Callable[[], Iterable[dict[str, Any]]] = lambda: ()


def canonical(line: dict[str, Any]) -> str:
    return json.dumps(line, sort_keys=True)


def digest(canonical_line: str) -> bytes:
    return hashlib.blake2b(canonical_line.encode(), digest_size=16).digest()


def _compared_topics() -> list[str]:
    return [*shared_topics(), topics.AUDIT]


def expected_from_lines(expected: dict[str, list[dict[str, Any]]]) -> ExpectedRecords:
    """The dry run's records as ``dry_run`` returns them, counted."""
    want = [line for t in _compared_topics() for line in expected.get(t, [])]
    return ExpectedRecords(
        counts=Counter(digest(canonical(line)) for line in want),
        total=len(want),
        audit_lines=lambda: expected.get(topics.AUDIT, []),
        dead_letters=len(expected.get(topics.DLQ, [])),
        all_lines=lambda: want,
    )


def dry_run_counted(lines: list[str], workdir: Path, keys: Path) -> ExpectedRecords:
    """``dry_run`` for backlogs of millions: the files are read a line at a time and counted."""
    folder = _dry_run_files(lines, workdir, keys)
    counts: Counter[bytes] = Counter()
    total = 0
    for topic in _compared_topics():
        for line in _file_lines(folder / f"{topic}.jsonl"):
            counts[digest(canonical(line))] += 1
            total += 1
    dead = sum(1 for _ in _file_lines(folder / f"{topics.DLQ}.jsonl"))
    audit = folder / f"{topics.AUDIT}.jsonl"

    def all_lines() -> Iterator[dict[str, Any]]:
        for topic in _compared_topics():
            yield from _file_lines(folder / f"{topic}.jsonl")

    return ExpectedRecords(counts, total, lambda: _file_lines(audit), dead, all_lines)


def _file_lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open() as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def compare_with_dry_run(
    settings: Settings,
    codec: Codec,
    expected: dict[str, list[dict[str, Any]]] | ExpectedRecords,
) -> Comparison:
    """Every output and audit record on Kafka against the dry run (as multisets of lines),
    read and counted one record at a time."""
    want = expected if isinstance(expected, ExpectedRecords) else expected_from_lines(expected)
    got_counts: Counter[bytes] = Counter()
    extra: dict[bytes, str] = {}  # records the dry run does not have: their canonical line
    received = 0
    timeout = max(60.0, want.total / 2_000)
    # the worker's records are on the broker by now (its inputs audited or committed): read to
    # the topics' ends, and wait one quiet second for a record still on its way
    records = iter_topics(settings, _compared_topics(), timeout=timeout, settle=1.0)
    for record in records:
        line = canonical(as_file_line(record, codec))
        key = digest(line)
        got_counts[key] += 1
        received += 1
        if key not in want.counts:
            extra.setdefault(key, line)
    lost = sum(max(n - got_counts[k], 0) for k, n in want.counts.items())
    duplicated = sum(n - want.counts[k] for k, n in got_counts.items() if k in want.counts)
    extra_ids = {json.loads(line)["value"].get("event_id") for line in extra.values()}
    audited = {
        line["value"]["event_id"]: line["value"]
        for line in (want.audit_lines() if extra_ids else ())
        if line["value"]["event_id"] in extra_ids
    }
    replays = [k for k, line in extra.items() if _replayed_state_audit(json.loads(line), audited)]
    stricter = [k for k, line in extra.items() if _stricter_replay(json.loads(line), audited)]
    unexpected_keys = [k for k in extra if k not in replays and k not in stricter]
    return Comparison(
        expected=want.total,
        received=received,
        lost=lost,
        duplicated=duplicated,
        unexpected=sum(got_counts[k] for k in unexpected_keys),
        replayed_state_audits=sum(got_counts[k] for k in replays),
        replayed_stricter=sum(got_counts[k] for k in stricter),
        examples=tuple(extra[k] for k in unexpected_keys[:5]),
        lost_examples=_lost_examples(want, got_counts) if lost else (),
    )


def _lost_examples(
    want: ExpectedRecords, got_counts: Counter[bytes], limit: int = 5
) -> tuple[str, ...]:
    """The first few dry-run lines the worker's topics lack, to say what a comparison lost."""
    missing = {k for k, n in want.counts.items() if got_counts[k] < n}
    found: list[str] = []
    for line in want.all_lines():
        text = canonical(line)
        if digest(text) in missing:
            found.append(text)
            if len(found) == limit:
                break
    return tuple(found)


def _replayed_state_audit(line: dict[str, Any], audited: dict[str, Any]) -> bool:
    """At-least-once: a consent change or request processed again after a crash, when a later
    change of the same scope is already in force, is audited again as "superseded" with no
    decisions and no notices (the replay of the change in force is audited exactly as the
    first time). A duplicate in substance, though not byte for byte."""
    value = line["value"]
    return bool(
        line["topic"] == topics.AUDIT
        and value["source_topic"] in topics.STATE_TOPICS
        and value["event_id"] in audited
        and not value["decisions"]
        and not value["tombstone_topics"]
        and "superseded" in str(value.get("state_change"))
    )


def _stricter_replay(line: dict[str, Any], audited: dict[str, Any]) -> bool:
    """At-least-once: an event processed again after a crash or a rebalance is decided on the
    state as it is then, which may hold changes of a later event_time (a withdrawal blocks
    whatever its date). Such a replay may block a route the first decision forwarded, never the
    other way round; its outputs, if any, are the dry run's (counted as duplicates)."""
    if line["topic"] != topics.AUDIT:
        return False
    value, first = line["value"], audited.get(line["value"]["event_id"])
    if first is None or value["source_topic"] != first["source_topic"] or first["state_change"]:
        return False
    forwarded = {(d["recipient"], d["purpose"]) for d in first["decisions"]
                 if d["outcome"] == "forwarded"}  # fmt: skip
    return all(
        (d["recipient"], d["purpose"]) in forwarded
        for d in value["decisions"]
        if d["outcome"] == "forwarded"
    )
