"""``purposegate produce FILE``: contract JSON lines → Avro on Kafka, keyed by ``customer_id``.

A line is ``{"topic": "<input topic>", "value": {...}}`` (docs/contract.md §1); ISO-8601 timestamps
become ``timestamp-millis``. Every line goes through the same door as in ``dry-run`` (the
schema's types with no conversion: "false" is no boolean, 1.0 no integer; the policy's enums,
ranges and formats; the size and time limits) and must fit the Avro record (a key the schema
does not have is refused, not dropped). The file is all-or-nothing by default: one bad line
and nothing is produced, every bad line is reported with its line number (fields named, values
never shown), exit 1. ``--skip-invalid`` produces the good lines anyway and still exits 1 when
any line was bad; a bad line itself never reaches Kafka, either way.

Records keep the file's order per topic and key. The Kafka timestamp is the time of sending,
not ``event_time`` (which the record carries): a timestamp from the past would let the broker's
time-based retention delete records before the pipeline reads them. Topics get
``PURPOSEGATE_TOPIC_PREFIX`` and must exist.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from kafka.errors import KafkaError

from broker.clients import TOOL_BOOTSTRAP_TIMEOUT_MS, admin_client, producer
from cli import args as args_
from cli import progress
from config.settings import Settings
from policy.errors import KafkaUnavailableError, PurposegateError
from policy.loader import load_policy
from wire import Codec, SchemaStore
from wire.input_lines import BadLine, Prepared, prepare, topic_rules
from wire.topic_schemas import wire_schemas

SEND_TIMEOUT_S = 30.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "produce",
        help="contract JSON lines -> Avro records on the input topics (keyed by customer_id)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "file",
        metavar="FILE",
        type=args_.INPUT_LINES_OR_STDIN,
        help="JSON-lines file, or - for stdin",
    )
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="produce the valid lines even when some are invalid (exit code is still 1)",
    )
    parser.set_defaults(func=run)


def _open(path: Path) -> TextIO:
    if str(path) == args_.STDIN:
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="surrogateescape")
    # a line that is not UTF-8 is reported with its number, not raised for the whole file
    return path.open(encoding="utf-8", errors="surrogateescape")


def _check_topics_exist(settings: Settings, wanted: set[str]) -> None:
    admin = admin_client(settings, bootstrap_timeout_ms=TOOL_BOOTSTRAP_TIMEOUT_MS)
    try:
        existing = set(admin.list_topics())
    except KafkaError as exc:
        raise KafkaUnavailableError(f"cannot list topics ({type(exc).__name__})") from None
    finally:
        admin.close()
    missing = sorted(t for t in wanted if settings.topic(t) not in existing)
    if missing:
        names = ", ".join(settings.topic(t) for t in missing)
        raise PurposegateError(
            f"unknown topic(s): {names}; create them with 'purposegate topics --create' "
            "(the broker does not auto-create topics)"
        )


def send_all(settings: Settings, records: list[Prepared]) -> Counter[str]:
    """Send in order, wait for every acknowledgement; counts per logical topic."""
    client = producer(settings, bootstrap_timeout_ms=TOOL_BOOTSTRAP_TIMEOUT_MS, max_block_ms=10_000)
    sent: Counter[str] = Counter()
    try:
        with progress.bar(len(records), "records", desc="produce") as shown:
            futures = [
                (r, client.send(settings.topic(r.topic), key=r.key, value=r.value))
                for r in progress.through(records, shown)
            ]
        client.flush(timeout=SEND_TIMEOUT_S)
        for record, future in futures:
            try:
                future.get(timeout=SEND_TIMEOUT_S)
            except KafkaError as exc:
                raise PurposegateError(
                    f"line {record.line}: not acknowledged by the broker ({type(exc).__name__}); "
                    f"{sum(sent.values())} records were acknowledged before it"
                ) from None
            sent[record.topic] += 1
    finally:
        client.close(timeout=5)
    return sent


def run(args: argparse.Namespace, settings: Settings) -> int:
    store = SchemaStore.load()
    codec = Codec(store, settings)
    policy = load_policy(settings.policy_file)
    inputs = {t: s for t, s in wire_schemas(policy, store).items() if t in policy.inputs}
    codec.bind_topics(inputs, settings.topic)  # Confluent: <topic>-value subjects, BACKWARD
    rules = topic_rules(policy, settings.input_limits())
    with _open(args.file) as handle, progress.bar(None, "lines", desc="encode") as shown:
        results = list(progress.through(prepare(handle, codec, rules), shown))
    good = [r for r in results if isinstance(r, Prepared)]
    bad = [r for r in results if isinstance(r, BadLine)]
    for problem in bad:
        print(f"purposegate produce: {args.file}: {problem}", file=sys.stderr)
    if bad and not args.skip_invalid:
        print(
            f"purposegate produce: {len(bad)} invalid line(s); nothing produced "
            "(--skip-invalid produces the valid ones)",
            file=sys.stderr,
        )
        return 1
    if good:
        _check_topics_exist(settings, {r.topic for r in good})
        sent = send_all(settings, good)
        summary = ", ".join(f"{settings.topic(t)} {n}" for t, n in sorted(sent.items()))
        print(
            f"purposegate produce: produced {sum(sent.values())} records: {summary}",
            file=sys.stderr,
        )
    else:
        print("purposegate produce: no records to produce", file=sys.stderr)
    return 1 if bad else 0
