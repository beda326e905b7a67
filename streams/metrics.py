"""purposegate's Prometheus metrics, defined once, and the worker's ``/metrics`` page.

Every metric lives in :data:`REGISTRY`, a registry of our own (not prometheus-client's global
default), so that building several apps in one process (tests, benchmarks) never registers a
series twice. Faust's own sensor gets a separate registry per app (:func:`install_metrics`);
:func:`render_metrics` serves both as one page.

Labels come only from a closed list: ``source_topic``, ``recipient``, ``purpose``, ``outcome``,
``reason``, ``field_category``, ``error_kind`` (and ``topic``/``partition`` for consumer lag).
Never a customer id, an event id or any field value: a label value is a series for ever and
is readable by everyone who can read the dashboards.

The labelled counters are plain dicts of floats exported by a collector at scrape time: the
worker counts some twenty series per event (one per route decision and redacted category),
and prometheus-client's ``Counter`` costs a lock and a child lookup per increment (~1.3 µs;
a dict increment is ~0.1 µs). Increments happen on the worker's event loop thread only.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Final, Protocol

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from streams import topics

if TYPE_CHECKING:
    import faust

    from streams.lag import LagCollector
    from streams.settings import Settings

log = logging.getLogger(__name__)

# ``*_created`` series double the series count and nobody graphs them.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: The registry every purposegate metric is defined in (one per process).
REGISTRY: Final = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # process_start_time_seconds feeds the no-events alert
PlatformCollector(registry=REGISTRY)

#: ``/metrics`` is served with the classic text format, which every Prometheus 2.x parses.
CONTENT_TYPE: Final = CONTENT_TYPE_PLAIN_0_0_4

#: Faust's own metrics are named ``faust_*`` whatever the app id, so dashboards stay stable.
FAUST_METRIC_PREFIX: Final = "faust"
#: Faust's sensor page would also claim ``/metrics``; it gets this path, we serve the merged one.
FAUST_ONLY_PATH: Final = "/metrics/faust"
METRICS_PATH: Final = "/metrics"

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

#: The closed set of DLQ error kinds (``streams.avro.codec.ErrorKind``,
#: ``policy.validation.ErrorKind`` and the pipeline's own); anything else is counted as
#: ``other`` so that an error message can never become a label value.
ERROR_KINDS: Final = (
    # the codec: bytes that are not one of our Avro records
    "empty",
    "unknown_format",
    "truncated",
    "unknown_schema",
    "no_registry",
    "malformed",
    # validation: a record outside the contract
    "not_json",
    "not_a_record",
    "unknown_topic",
    "missing_field",
    "wrong_type",
    "unknown_enum",
    "out_of_range",
    # the pipeline
    "key_mismatch",
    "internal_error",
    "other",
)
OTHER_ERROR: Final = "other"

#: Label values longer than this are cut: policy ids are short, anything longer is a bug.
MAX_LABEL_LENGTH: Final = 64


def _clean(value: str) -> str:
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
            merged[tuple(_clean(v) for v in labelvalues)] += count
        for labelvalues, count in sorted(merged.items()):
            family.add_metric(labelvalues, count)
        yield family


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


FIELDS_REDACTED: Final = RedactionCounter(
    "purposegate_fields_redacted",
    "Data categories withheld from forwarded records: one count per forwarded route decision "
    "and entry of its redacted_categories.",
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


class TombstoneLike(Protocol):
    @property
    def reason(self) -> str: ...


class DecisionLike(Protocol):
    """What :func:`observe_decision` reads from a ``policy.engine.Decision``."""

    @property
    def source_topic(self) -> str: ...
    @property
    def decisions(self) -> Sequence[RouteDecisionLike]: ...
    @property
    def tombstones(self) -> Sequence[TombstoneLike]: ...
    @property
    def unclassified_fields(self) -> Sequence[str]: ...


_KNOWN_ERROR_KINDS: Final = frozenset(ERROR_KINDS)


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


def observe_withdrawal(reason: str, count: int = 1) -> None:
    """Count withdrawal notices sent outside :func:`observe_decision` (which already counts
    a decision's tombstones; do not count those twice)."""
    WITHDRAWALS.inc(reason, amount=count)


def observe_processing(seconds: float) -> None:
    """Record decode → sent time of one input event."""
    PROCESSING_SECONDS.observe(seconds)


class timed:  # lower case: used like a function, ``with timed():``
    """Times its block into ``purposegate_processing_seconds``.

    >>> with timed():
    ...     pass
    """

    __slots__ = ("_started",)

    def __init__(self) -> None:
        self._started = 0.0

    def __enter__(self) -> timed:
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        PROCESSING_SECONDS.observe(time.perf_counter() - self._started)


def set_policy_version(version: str) -> None:
    """Publish ``purposegate_policy_info{version}`` (call once at start-up)."""
    POLICY.info({"version": _clean(version)})


def set_consent_subjects(count: int) -> None:
    """Publish the number of subjects in the consent state table."""
    CONSENT_SUBJECTS.set(count)


# --- the /metrics page ---

_page_registries: list[CollectorRegistry] = []


def render_metrics(*extra: CollectorRegistry) -> bytes:
    """The exposition text of :data:`REGISTRY`, of every Faust registry installed with
    :func:`install_metrics`, and of ``extra``; one page for Prometheus to scrape."""
    parts = [generate_latest(REGISTRY)]
    parts.extend(generate_latest(registry) for registry in (*_page_registries, *extra))
    return b"".join(parts)


def install_metrics(
    app: faust.App,
    settings: Settings,
    policy_version: str | None = None,
    *,
    lag_interval_s: float = 5.0,
    group_id: str | None = None,
    collector: LagCollector | None = None,
) -> CollectorRegistry:
    """Wire metrics into a Faust app before it starts: Faust's sensor in a registry of its own,
    the merged ``/metrics`` page on the app's web port, series initialised, the policy version
    published, and a timer that refreshes the consumer lag of the app's consumer group every
    ``lag_interval_s`` seconds (with ``collector``, else one of the group's committed
    partitions). Returns Faust's registry."""
    from faust.sensors.prometheus import setup_prometheus_sensors
    from faust.web import Request, Response, View

    faust_registry = CollectorRegistry(auto_describe=True)
    setup_prometheus_sensors(
        app,
        pattern=FAUST_ONLY_PATH,
        registry=faust_registry,
        name_prefix=FAUST_METRIC_PREFIX,
    )
    # Only the registry of the app that serves the page: several apps in one process (tests)
    # must not publish each other's Faust series.
    _page_registries[:] = [faust_registry]
    initialise_series()
    if policy_version is not None:
        set_policy_version(policy_version)

    async def purposegate_metrics(self: View, request: Request) -> Response:
        return self.bytes(render_metrics(), headers={"Content-Type": CONTENT_TYPE})

    app.page(METRICS_PATH, name="purposegate_metrics")(purposegate_metrics)

    if collector is None:
        from streams.lag import LagCollector as Collector  # lag imports this module

        collector = Collector(settings, group_id=group_id or app.conf.id)
    lag = collector

    async def refresh_consumer_lag() -> None:
        await lag.refresh_async()

    app.timer(interval=lag_interval_s, name="purposegate_consumer_lag")(refresh_consumer_lag)
    return faust_registry
