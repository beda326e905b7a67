"""``make bench-report``: how long ``purposegate report SUBJECT`` and ``purposegate affected``
take on a large audit topic.

Fills a fresh audit topic (its own prefix, ``--partitions`` partitions like the worker creates)
with ``--records`` audit records of ``--customers`` customers, as the worker writes them (keyed by
customer id with the producer's partitioner, the audit headers, single-object Avro), one a
second of Kafka timestamp ending an hour ago (so the records span days, as a live audit does),
then runs the real commands as subprocesses several times (start-up included) and prints the
times. The report reads one partition (records / partitions of them) and decodes only the
subject's; ``affected`` seeks every partition to its window (one hour, then one day of records)
and decodes only the records that name the recipient.

    python -m bench.report --records 1000000 --customers 50000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from broker.admin import TopicSpec, ensure_topics
from broker.clients import admin_client
from broker.partitions import partition_for
from config.settings import Settings
from policy import topics
from policy.loader import load_policy
from wire import Codec, SchemaStore
from wire.headers import audit_headers, encoded
from wire.store import AUDIT_RECORD

CLI = Path(sys.executable).with_name("purposegate")
START = datetime(2023, 1, 1, tzinfo=UTC)
#: Windows ``affected`` is timed on, in seconds of Kafka timestamp (one record a second).
WINDOWS = {"hour": 3600, "day": 86_400}


def audit_value(customer: str, number: int, version: str) -> dict[str, Any]:
    """An order's audit record: two provisions and a block, like most orders get."""
    forwarded = ["order_id", "status", "name", "phone", "postal_code", "prefecture", "address"]
    decisions = [
        {"recipient": "septem-cargo", "purpose": "fulfilment",
         "topic": "shared.septem-cargo.fulfilment", "outcome": "forwarded", "reason": "permitted",
         "fields_sent": forwarded, "fields_redacted": ["email", "card_last4"],
         "cause_event_id": None},
        {"recipient": "septem-financial", "purpose": "fulfilment",
         "topic": "shared.septem-financial.fulfilment", "outcome": "forwarded",
         "reason": "permitted", "fields_sent": ["order_id", "name", "total_jpy"],
         "fields_redacted": ["email"], "cause_event_id": None},
        {"recipient": "affectus", "purpose": "marketing", "topic": "shared.affectus.marketing",
         "outcome": "blocked", "reason": "no_consent", "fields_sent": [],
         "fields_redacted": [], "cause_event_id": None},
    ]  # fmt: skip
    return {
        "event_id": f"ord-{number:09d}", "event_time": START + timedelta(seconds=number),
        "source_topic": topics.ORDERS, "customer_id": customer,
        "purposes": ["order_communication", "fulfilment", "marketing"], "policy_version": version,
        "decisions": decisions, "state_change": None, "unclassified_fields": [],
        "tombstone_topics": [], "late": False,
    }  # fmt: skip


def fill(settings: Settings, records: int, customers: int, first_ms: int) -> float:
    """Write the audit topic; returns the records per second written."""
    started = time.monotonic()
    asyncio.run(_fill(settings, records, customers, first_ms))
    return records / (time.monotonic() - started)


async def _fill(settings: Settings, records: int, customers: int, first_ms: int) -> None:
    """aiokafka batches per partition (kafka-python's ``send`` is too slow to fill a million),
    each record in the partition the worker's producer would pick."""
    codec = Codec(SchemaStore.load(), settings)
    version = load_policy().version
    name = settings.topic(topics.AUDIT)
    client = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks=1)
    await client.start()
    try:
        count = len(await client.partitions_for(name))
        batches: dict[int, Any] = {}
        sent = []
        for number in range(records):
            customer = f"B{number % customers:07d}"
            value = audit_value(customer, number, version)
            key, body = customer.encode(), codec.encode(AUDIT_RECORD, value)
            headers = encoded(audit_headers(value["event_id"], version, topics.ORDERS))
            partition = partition_for(key, count)
            batch = batches.setdefault(partition, client.create_batch())
            stamp = first_ms + number * 1000
            if batch.append(key=key, value=body, timestamp=stamp, headers=headers) is None:
                sent.append(await client.send_batch(batch, name, partition=partition))
                batch = batches[partition] = client.create_batch()
                batch.append(key=key, value=body, timestamp=stamp, headers=headers)
            if number % 200_000 == 0:
                print(f"  {number:,} records written", file=sys.stderr)
        for partition, batch in batches.items():
            sent.append(await client.send_batch(batch, name, partition=partition))
        await asyncio.gather(*sent)
    finally:
        await client.stop()


#: (wall seconds, CPU seconds of the command) of one run: the CPU figure holds on a busy host.
Timed = tuple[float, float]


def run_timed(argv: list[str], settings: Settings) -> tuple[Timed, Any]:
    """Run ``purposegate ARGV``; its wall and CPU time (start-up included) and its result."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own command
        [str(CLI), *argv], capture_output=True, text=True, env=_env(settings), check=False
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {done.stderr.strip()}")
    return (wall, cpu), done


def time_report(settings: Settings, subject: str, runs: int) -> list[Timed]:
    times = []
    for _ in range(runs):
        timed, done = run_timed(["report", subject, "--format", "json"], settings)
        times.append(timed)
        provisions = len(json.loads(done.stdout)["provisions"])
    print(f"  the subject's report lists {provisions} provisions", file=sys.stderr)
    return times


def time_affected(
    settings: Settings, first_ms: int, records: int, span_s: int, runs: int
) -> list[Timed]:
    """``affected`` on a window of ``span_s`` seconds in the middle of the topic."""
    middle = datetime.fromtimestamp((first_ms + records * 500) / 1000, UTC)
    window = [
        "--from",
        middle.isoformat(),
        "--to",
        (middle + timedelta(seconds=span_s)).isoformat(),
    ]
    argv = ["affected", "--recipient", "septem-cargo", *window, "--format", "json"]
    times = []
    for _ in range(runs):
        timed, done = run_timed(argv, settings)
        times.append(timed)
        sized = json.loads(done.stdout)
    print(f"  affected, {span_s} s: {sized['records']} records of {sized['subjects']} subjects",
          file=sys.stderr)  # fmt: skip
    return times


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "PURPOSEGATE_TOPIC_PREFIX": settings.topic_prefix,
        "PURPOSEGATE_WIRE_FORMAT": "single-object",
    }


def delete_topic(settings: Settings) -> None:
    admin = admin_client(settings)
    try:
        admin.delete_topics([settings.topic(topics.AUDIT)])
    finally:
        admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.report")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the topic (print its prefix)")
    options = parser.parse_args(argv)
    settings = _settings(options.partitions)
    # kept forever: records dated days back would fall to the broker's default retention
    ensure_topics(settings, [TopicSpec(topics.AUDIT, options.partitions, {"retention.ms": "-1"})])
    first_ms = int(time.time() * 1000) - (options.records + 3600) * 1000
    try:
        rate = fill(settings, options.records, options.customers, first_ms)
        subject = "B0000042"
        times = time_report(settings, subject, options.runs)
        affected = {
            name: time_affected(settings, first_ms, options.records, span, options.runs)
            for name, span in WINDOWS.items()
        }
    finally:
        if options.keep:
            print(f"kept topic {settings.topic(topics.AUDIT)}", file=sys.stderr)
        else:
            delete_topic(settings)
    figures = {
        "audit_records": options.records, "customers": options.customers,
        "partitions": options.partitions,
        "subject_partition": partition_for(subject.encode(), options.partitions),
        "fill_records_per_s": round(rate), **_timings("report", times),
    }  # fmt: skip
    for name, found in affected.items():
        figures |= _timings(f"affected_{name}", found)
    print(json.dumps(figures))
    return 0


def _settings(partitions: int) -> Settings:
    """A topic prefix of its own, on the broker of ``KAFKA_BOOTSTRAP``."""
    return Settings.model_validate(
        {
            "KAFKA_BOOTSTRAP": os.environ.get("KAFKA_BOOTSTRAP", "localhost:9092"),
            "PURPOSEGATE_TOPIC_PREFIX": f"bench-report-{uuid.uuid4().hex[:8]}.",
            "PURPOSEGATE_PARTITIONS": str(partitions),
            "PURPOSEGATE_WIRE_FORMAT": "single-object",
        }
    )


def _timings(name: str, times: list[Timed]) -> dict[str, Any]:
    return {
        f"{name}_seconds": [round(wall, 2) for wall, _ in times],
        f"{name}_median_s": round(statistics.median(wall for wall, _ in times), 2),
        f"{name}_cpu_median_s": round(statistics.median(cpu for _, cpu in times), 2),
    }


if __name__ == "__main__":
    sys.exit(main())
