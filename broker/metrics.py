"""purposegate's Prometheus metrics, defined once, and what the worker counts with them.

Every metric lives in :data:`REGISTRY`, a registry of our own (not prometheus-client's global
default), so that building several apps in one process (tests, benchmarks) never registers a
series twice. ``broker.metrics_page`` serves it, with Faust's own sensor, as one page.

Labels come only from a closed list: ``source_topic``, ``recipient``, ``purpose``, ``outcome``,
``reason``, ``field_category``, ``error_kind``, ``change`` (gained/lost; a shadow policy's),
``state`` (an erasure notice's), ``detector`` (content inspection's), and ``topic``/``partition``
for consumer lag.
Never a customer id, an event id or any field value: a label value is a series for ever and
is readable by everyone who can read the dashboards.

The labelled counters are plain dicts, exported by a collector at scrape time
(:class:`LabelledCounter`): the worker counts some twenty series per event (one per route
decision and redacted category), and prometheus-client's ``Counter`` costs a lock and a child
lookup per increment (~1.3 µs; a dict increment is ~0.1 µs). Increments happen on the worker's
event loop thread only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

from prometheus_client import (
    CollectorRegistry,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from policy import topics
from policy.errors import ERROR_KINDS, OTHER_ERROR

#: Label values longer than this are cut: policy ids are short, anything longer is a bug.
MAX_LABEL_LENGTH: Final = 64


def clean(value: str) -> str:
    return value[:MAX_LABEL_LENGTH] if value else "none"


class LabelledCounter(Collector):
    """A labelled counter as a dict: ``counts[label values] += n`` on the hot path, exported
    as ``<name>_total`` when scraped. Label values are capped at scrape time."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.counts: defaultdict[tuple[str, ...], float] = defaultdict(float)
        registry.register(self)

    def touch(self, *labelvalues: str) -> None:
        """Make a series exist at 0 (no-op when it already counts)."""
        self.counts[labelvalues] += 0.0

    def inc(self, *labelvalues: str, amount: float = 1.0) -> None:
        self.counts[labelvalues] += amount

    def describe(self) -> Iterable[Metric]:
        yield CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        merged: defaultdict[tuple[str, ...], float] = defaultdict(float)
        for labelvalues, count in list(self.counts.items()):
            merged[tuple(clean(v) for v in labelvalues)] += count
        for labelvalues, count in sorted(merged.items()):
            family.add_metric(labelvalues, count)
        yield family


class RedactionCounter(LabelledCounter):
    """``purposegate_fields_redacted_total{recipient, purpose, field_category}``, counted per
    (recipient, purpose, redacted categories) and expanded per category when scraped: one
    increment per forwarded route instead of one per category."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        super().__init__(name, documentation, ("recipient", "purpose", "field_category"), registry)
        self.by_route: defaultdict[tuple[str, str, tuple[str, ...]], float] = defaultdict(float)

    def inc(self, *labelvalues: str, amount: float = 1.0) -> None:
        recipient, purpose, category = labelvalues
        self.by_route[(recipient, purpose, (category,))] += amount

    def touch(self, *labelvalues: str) -> None:
        self.inc(*labelvalues, amount=0.0)

    def collect(self) -> Iterable[Metric]:
        self.counts.clear()
        for (recipient, purpose, categories), count in list(self.by_route.items()):
            for category in categories:
                self.counts[(recipient, purpose, category)] += count
        return super().collect()


# ``*_created`` series double the series count and nobody graphs them.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: The registry every purposegate metric is defined in (one per process).
REGISTRY: Final = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # process_start_time_seconds feeds the no-events alert
PlatformCollector(registry=REGISTRY)

#: Decode → sent, from 0.5 ms (a cached decision) to 5 s (a broker stall).
PROCESSING_BUCKETS: Final = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)

# --- outcome of one input event (label ``outcome`` of purposegate_events_total) ---
#: At least one route forwarded the event to a group company.
EVENT_FORWARDED: Final = "forwarded"
#: Every route considered blocked it (or none applied).
EVENT_BLOCKED: Final = "blocked"
#: A consent change or subject request that updated the subject's state.
EVENT_STATE: Final = "state"
#: Could not be processed; went to the DLQ.
EVENT_DLQ: Final = "dlq"
EVENT_OUTCOMES: Final = (EVENT_FORWARDED, EVENT_BLOCKED, EVENT_STATE, EVENT_DLQ)

EVENTS: Final = LabelledCounter(
    "purposegate_events",
    "Input events processed, by source topic and outcome (forwarded, blocked, state, dlq).",
    ["source_topic", "outcome"],
    registry=REGISTRY,
)
DECISIONS: Final = LabelledCounter(
    "purposegate_decisions",
    "Route decisions: one per (event, recipient, purpose) considered; "
    "outcome forwarded|blocked with the policy's reason.",
    ["recipient", "purpose", "outcome", "reason"],
    registry=REGISTRY,
)


FIELDS_REDACTED: Final = RedactionCounter(
    "purposegate_fields_redacted",
    "Data categories withheld from forwarded records: one count per forwarded route decision "
    "and entry of its redacted_categories.",
    registry=REGISTRY,
)
CONTENT_REDACTIONS: Final = LabelledCounter(
    "purposegate_content_redactions",
    "Personal data found in free-form values of forwarded records and redacted (or dropped): "
    "one count per find, by the detector that found it (never the value).",
    ["recipient", "purpose", "detector"],
    registry=REGISTRY,
)
DLQ: Final = LabelledCounter(
    "purposegate_dlq",
    "Input records sent to the DLQ topic, by source topic and kind of error.",
    ["source_topic", "error_kind"],
    registry=REGISTRY,
)
UNCLASSIFIED_FIELDS: Final = LabelledCounter(
    "purposegate_unclassified_fields",
    "Fields seen in input events that the policy does not classify (never forwarded).",
    ["source_topic"],
    registry=REGISTRY,
)
WITHDRAWALS: Final = LabelledCounter(
    "purposegate_withdrawals",
    "Withdrawal notices (tombstones) sent to group companies, by reason.",
    ["reason"],
    registry=REGISTRY,
)
SHADOW_DIFFERENCES: Final = LabelledCounter(
    "purposegate_shadow_differences",
    "Events a shadow policy (worker --shadow-policy) decides differently: one count per event "
    "and (recipient, purpose, change) where the shadow would gain or lose items.",
    ["recipient", "purpose", "change"],
    registry=REGISTRY,
)
PROCESSING_SECONDS: Final = Histogram(
    "purposegate_processing_seconds",
    "Time from decoding an input record to its outputs and audit record being sent.",
    buckets=PROCESSING_BUCKETS,
    registry=REGISTRY,
)
CONSENT_SUBJECTS: Final = Gauge(
    "purposegate_consent_subjects",
    "Subjects with a consent or suspension state held by this worker.",
    registry=REGISTRY,
)
POLICY: Final = Info(
    "purposegate_policy",
    "The policy in force: version is the policy hash stamped on every output record.",
    registry=REGISTRY,
)
CONSUMER_LAG: Final = Gauge(
    "purposegate_consumer_lag",
    "Records not yet committed by the worker's consumer group: end offset - committed offset.",
    ["topic", "partition"],
    registry=REGISTRY,
)
PARTITION_STALLED: Final = Gauge(
    "purposegate_partition_stalled",
    "1 when an input partition assigned to this worker has records not yet committed and "
    "neither its committed offset nor its processed count moved for PURPOSEGATE_STALL_TIMEOUT_S.",
    ["topic", "partition"],
    registry=REGISTRY,
)
ERASURE_NOTICES: Final = Gauge(
    "purposegate_erasure_notices",
    "Erasure notices (the latest per shared topic and subject) by recipient and state: pending, "
    "read, overdue, gone. Exported by the leader worker only (the others export none).",
    ["recipient", "state"],
    registry=REGISTRY,
)


class RouteDecisionLike(Protocol):
    """One route considered for an event (the audit record's ``decisions`` entry)."""

    @property
    def recipient(self) -> str: ...
    @property
    def purpose(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def redacted_categories(self) -> Sequence[str]: ...
    @property
    def content_redactions(self) -> Sequence[tuple[str, str]]: ...


class TombstoneLike(Protocol):
    @property
    def reason(self) -> str: ...


class DecisionLike(Protocol):
    """What :func:`observe_decision` reads from a ``policy.decision.Decision``."""

    @property
    def source_topic(self) -> str: ...
    @property
    def decisions(self) -> Sequence[RouteDecisionLike]: ...
    @property
    def tombstones(self) -> Sequence[TombstoneLike]: ...
    @property
    def unclassified_fields(self) -> Sequence[str]: ...


_KNOWN_ERROR_KINDS: Final = frozenset(ERROR_KINDS)


def observe_shadow(differences: Iterable[Mapping[str, str]]) -> None:
    """Count one event's shadow differences, once per (recipient, purpose, change)."""
    counts = SHADOW_DIFFERENCES.counts
    for labels in {(d["recipient"], d["purpose"], d["change"]) for d in differences}:
        counts[labels] += 1.0


def initialise_series(source_topics: Iterable[str] = topics.INPUT_TOPICS) -> None:
    """Create the series whose first increment matters at 0, so that ``rate()`` and
    ``increase()`` see that increment (a series born at 1 shows no increase) and "no events"
    can be told from "no worker". Idempotent."""
    for topic in source_topics:
        for outcome in EVENT_OUTCOMES:
            EVENTS.touch(topic, outcome)
        for kind in ERROR_KINDS:
            DLQ.touch(topic, kind)
        UNCLASSIFIED_FIELDS.touch(topic)


def observe_decision(decision: DecisionLike) -> None:
    """Count one processed input event: its outcome, every route decision, the redacted
    field categories of forwarded routes, unclassified fields and withdrawal notices."""
    source_topic = decision.source_topic
    decisions, redacted = DECISIONS.counts, FIELDS_REDACTED.by_route
    forwarded = False
    for route in decision.decisions:
        recipient, purpose, outcome = route.recipient, route.purpose, route.outcome
        decisions[(recipient, purpose, outcome, route.reason)] += 1.0
        if outcome == EVENT_FORWARDED:
            forwarded = True
            categories = route.redacted_categories
            if categories:
                redacted[(recipient, purpose, tuple(categories))] += 1.0
            for _, detector in route.content_redactions:
                CONTENT_REDACTIONS.counts[(recipient, purpose, detector)] += 1.0
    if forwarded:
        outcome_of_event = EVENT_FORWARDED
    elif source_topic in topics.STATE_TOPICS:
        outcome_of_event = EVENT_STATE
    else:
        outcome_of_event = EVENT_BLOCKED
    EVENTS.counts[(source_topic, outcome_of_event)] += 1.0
    unclassified = len(decision.unclassified_fields)
    if unclassified:
        UNCLASSIFIED_FIELDS.counts[(source_topic,)] += unclassified
    for tombstone in decision.tombstones:
        WITHDRAWALS.counts[(tombstone.reason,)] += 1.0


def observe_dlq(source_topic: str, error_kind: str) -> None:
    """Count one input record sent to the DLQ (also an event with outcome ``dlq``).
    ``error_kind`` outside :data:`ERROR_KINDS` is counted as ``other``."""
    kind = error_kind if error_kind in _KNOWN_ERROR_KINDS else OTHER_ERROR
    DLQ.inc(source_topic, kind)
    EVENTS.inc(source_topic, EVENT_DLQ)


def observe_processing(seconds: float, events: int = 1) -> None:
    """Record the decide → handed-to-the-producer time of ``events`` input events decided
    together (each of them took that long)."""
    for _ in range(events):
        PROCESSING_SECONDS.observe(seconds)


def set_policy_version(version: str) -> None:
    """Publish ``purposegate_policy_info{version}`` (call once at start-up)."""
    POLICY.info({"version": clean(version)})


def set_erasure_notices(counts: Mapping[tuple[str, str], int]) -> None:
    """Publish the erasure notices per (recipient, state); an empty mapping removes every
    series (a worker that is not the leader exports none, so that no notice counts twice)."""
    ERASURE_NOTICES.clear()
    for (recipient, state), count in counts.items():
        ERASURE_NOTICES.labels(recipient=clean(recipient), state=clean(state)).set(count)


def set_consent_subjects(count: int) -> None:
    """Publish the number of subjects in the consent state table."""
    CONSENT_SUBJECTS.set(count)
