"""Leak canaries: every personal value of a stream is a unique marker (``CANARY-<n>-<field>``);
after the worker has run, no marker may be anywhere the policy does not send that field.

Scanned: every ``shared.*`` topic (raw key, value and header bytes, and decoded), the audit
(only the customer id may appear), the DLQ's error texts and headers (the raw bytes are the
privacy office's and may hold anything), the worker's log and ``/metrics`` (nothing at all).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator

import pytest

from bench.workers import WorkerProcess, free_port
from policy import topics
from policy.loader import load_policy
from tests.integration.kafka_io import Received, produce_raw, read_topics
from tests.integration.streams_for_tests import (
    codec,
    encode_lines,
    encode_unchecked,
    isolated_settings,
    sample_lines,
    shared_topics,
)
from wire import Codec, Decoded
from wire.jsonl import dumps

pytestmark = pytest.mark.integration

MARKER = re.compile(rb"CANARY-[A-Za-z0-9]+-([a-z_0-9]+)")
#: Personal fields of the input records: each gets its own marker.
PERSONAL = (
    "name", "email", "phone", "postal_code", "address", "card_last4", "subject", "message",
    "comment", "skin_concerns",
)  # fmt: skip
#: Contract §3: never to any group company, whatever the route says.
NEVER_SHARED = {"email", "subject", "message", "comment", "card_last4", "skin_concerns"}
#: Contract §3: never on a pseudonymised route.
IDENTIFYING = {"customer_id", "name", "email", "phone", "address", "postal_code"}
SCOPES = ("marketing", "monitoring_research", "skin_support", "cross_border")
PSEUDONYMISED = {"shared.septem-souken.product_development", "shared.enfinity.product_development"}


def canarised(lines: list[str]) -> list[str]:
    """The sample with every personal value replaced by a marker, every consent granted
    first (so that every route fires), and nullable personal fields filled in."""
    customers: dict[str, str] = {}
    out: list[str] = []
    for n, line in enumerate(lines):
        record = json.loads(line)
        value = record["value"]
        cid = customers.setdefault(value["customer_id"], f"CANARY-c{len(customers)}-customer_id")
        value["customer_id"] = cid
        for field in PERSONAL:
            if field not in value:
                continue
            marker = f"CANARY-{n}-{field}"
            if field == "skin_concerns":
                value[field] = [marker, f"{marker}x"[:-1]]
            elif field != "card_last4" or value[field] is not None:
                value[field] = marker
        out.append(json.dumps(record))
    grants = [
        json.dumps({"topic": "consents", "value": {
            "event_id": f"grant-{i}-{scope}", "event_time": "2020-01-01T00:00:00Z",
            "customer_id": cid, "scope": scope, "granted": True, "source": "web_form"}})
        for i, cid in enumerate(customers.values()) for scope in SCOPES
    ]  # fmt: skip
    return grants + out


def poison_lines() -> list[str]:
    """Invalid records carrying markers: an unknown status enum and a wrong-typed total."""
    base = {
        "event_time": "2026-11-24T09:30:00Z", "customer_id": "CANARY-p0-customer_id",
        "order_id": "o", "name": "CANARY-p1-name", "email": "CANARY-p2-email",
        "phone": "CANARY-p3-phone", "country": "JP", "postal_code": "CANARY-p4-postal_code",
        "prefecture": "Tokyo", "address": "CANARY-p5-address", "items": [],
        "payment_method": "card", "card_last4": "CANARY-p6-card_last4",
    }  # fmt: skip
    return [
        json.dumps({"topic": "orders", "value": {**base, "event_id": "bad-enum",
                    "status": "teleported", "total_jpy": 1}}),
    ]  # fmt: skip


def wrong_record_lines() -> list[str]:
    """A valid inquiry full of markers, to be sent to the orders topic (wrong record type)."""
    value = {
        "event_id": "wrong-type", "event_time": "2026-11-24T09:30:00Z",
        "customer_id": "CANARY-p0-customer_id", "inquiry_id": "i", "kind": "question",
        "name": "CANARY-p8-name", "email": "CANARY-p9-email", "phone": "CANARY-p10-phone",
        "related_order_id": None, "subject": "CANARY-p11-subject",
        "message": "CANARY-p12-message", "skin_concerns": None,
    }  # fmt: skip
    return [json.dumps({"topic": "inquiries", "value": value})]


def allowed_fields() -> dict[str, set[str]]:
    """Per shared topic: the fields whose markers may appear there (kept by some route to it;
    the customer id as the key of a route that is not pseudonymised)."""
    allowed: dict[str, set[str]] = defaultdict(set)
    for route in load_policy().routes:
        topic = topics.shared_topic(route.recipient, route.purpose)
        allowed[topic] |= {f for f, rule in route.fields.items() if rule.op == "keep"}
        if not route.pseudonymised:
            allowed[topic].add("customer_id")
    return allowed


def markers(*blobs: bytes | None) -> set[str]:
    return {m.group(1).decode() for blob in blobs if blob for m in MARKER.finditer(blob)}


def record_markers(record: Received, codec: Codec) -> set[str]:
    """Markers in the raw bytes of a record, and in its decoded value."""
    found = markers(record.key, record.value, *record.headers.values())
    if record.value is not None:
        decoded = codec.decode(record.value)
        assert isinstance(decoded, Decoded), decoded
        found |= markers(dumps(decoded.value).encode())
    return found


@pytest.fixture(scope="module")
def canary_run(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, list[Received]], str, str, int]]:
    """Runs the canary stream through one worker (once for the module): records by topic,
    the worker's log, its /metrics page, and how many good events went in."""
    tmp_path = tmp_path_factory.mktemp("canaries")
    settings = isolated_settings(kafka_bootstrap, tmp_path)
    c = codec()
    good = encode_lines(canarised(sample_lines(tmp_path / "s.jsonl", 23, 25, 500)), c)
    bad = [
        *((r.topic, r.key, r.value) for r in encode_unchecked(poison_lines(), c)),
        *((topics.ORDERS, r.key, r.value) for r in encode_lines(wrong_record_lines(), c)),
    ]
    worker = WorkerProcess.start(settings, tmp_path, free_port(), {})
    try:
        worker.wait_ready()
        produce_raw(settings, [*((r.topic, r.key, r.value) for r in good), *bad])
        audit = read_topics(settings, [topics.AUDIT], until=len(good), timeout=120)
        dlq = read_topics(settings, [topics.DLQ], until=len(bad), timeout=60)
        assert len(audit) >= len(good) and len(dlq) >= len(bad), worker.log_tail()
        shared = read_topics(settings, shared_topics(), idle=2.0)
        page = worker.metrics()
    finally:
        assert worker.stop() == 0
    by_topic: dict[str, list[Received]] = defaultdict(list)
    for record in [*shared, *audit, *dlq]:
        by_topic[record.topic].append(record)
    yield by_topic, worker.log_path.read_text(errors="replace"), page, len(good)


def test_when_every_personal_value_is_a_canary_then_shared_topics_carry_only_allowed_ones(
    canary_run: tuple[dict[str, list[Received]], str, str, int],
) -> None:
    by_topic, _, _, _ = canary_run
    c, allowed = codec(), allowed_fields()
    seen: dict[str, set[str]] = {}
    for topic in shared_topics():
        found = set().union(*(record_markers(r, c) for r in by_topic.get(topic, [])))
        seen[topic] = found
        assert not found & NEVER_SHARED, (topic, found & NEVER_SHARED)
        if topic in PSEUDONYMISED:
            assert not found & IDENTIFYING, (topic, found & IDENTIFYING)
        assert found <= allowed[topic], (topic, found - allowed[topic])
    # The canaries did reach the routes that may carry them: the scan saw real traffic.
    assert "name" in seen["shared.septem-cargo.fulfilment"]
    assert by_topic.get("shared.enfinity.product_development")
    print({t: sorted(f) for t, f in seen.items()})


def test_when_every_personal_value_is_a_canary_then_audit_and_dlq_texts_hold_none(
    canary_run: tuple[dict[str, list[Received]], str, str, int],
) -> None:
    by_topic, _, _, good = canary_run
    c = codec()
    audit = by_topic[topics.AUDIT]
    assert len(audit) >= good
    # The audit names fields, never their values; it is keyed by the customer id.
    assert set().union(*(record_markers(r, c) for r in audit)) <= {"customer_id"}
    dead = by_topic[topics.DLQ]
    assert len(dead) == 2
    for record in dead:
        letter = c.decode(record.value)
        assert isinstance(letter, Decoded)
        assert markers(letter.value["error"].encode(), *record.headers.values()) == set()
        assert "name" in markers(letter.value["raw"])  # the raw bytes are kept, whole


@pytest.mark.parametrize(
    "where",
    [
        "log",  # the worker's stdout and stderr, INFO level as in production
        "metrics",  # the /metrics page, scraped while the worker ran
    ],
)
def test_when_every_personal_value_is_a_canary_then_logs_and_metrics_hold_none(
    canary_run: tuple[dict[str, list[Received]], str, str, int], where: str
) -> None:
    _, log, page, _ = canary_run
    text = log if where == "log" else page
    assert "purposegate" in text
    assert "CANARY" not in text, [line for line in text.splitlines() if "CANARY" in line][:5]
