"""purposegate's Prometheus metrics, defined once, and the worker's ``/metrics`` page.

Every metric lives in :data:`REGISTRY`, a registry of our own (not prometheus-client's global
default), so that building several apps in one process (tests, benchmarks) never registers a
series twice. Faust's own sensor gets a separate registry per app (:func:`install_metrics`);
:func:`render_metrics` serves both as one page.

Labels come only from a closed list: ``source_topic``, ``recipient``, ``purpose``, ``outcome``,
``reason``, ``field_category``, ``error_kind`` (and ``topic``/``partition`` for consumer lag).
Never a customer id, an event id or any field value: a label value is a series for ever and
is readable by everyone who can read the dashboards.

Labelled children are cached in dicts: a ``.labels()`` call costs a lock and a tuple build,
and the worker counts several series per event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Final, Protocol

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from streams import topics

if TYPE_CHECKING:
    import faust

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

#: The closed set of DLQ error kinds; anything else is counted as ``other`` so that an error
#: message can never become a label value.
ERROR_KINDS: Final = (
    "decode_error",
    "missing_field",
    "wrong_type",
    "unknown_enum",
    "invalid_value",
    "unknown_topic",
    "processing_error",
    "other",
)
OTHER_ERROR: Final = "other"

#: Label values longer than this are cut: policy ids are short, anything longer is a bug.
MAX_LABEL_LENGTH: Final = 64

EVENTS: Final = Counter(
    "purposegate_events",
    "Input events processed, by source topic and outcome (forwarded, blocked, state, dlq).",
    ["source_topic", "outcome"],
    registry=REGISTRY,
)
DECISIONS: Final = Counter(
    "purposegate_decisions",
    "Route decisions: one per (event, recipient, purpose) considered; "
    "outcome forwarded|blocked with the policy's reason.",
    ["recipient", "purpose", "outcome", "reason"],
    registry=REGISTRY,
)
FIELDS_REDACTED: Final = Counter(
    "purposegate_fields_redacted",
    "Fields withheld from a forwarded record, by the data category of the field.",
    ["recipient", "purpose", "field_category"],
    registry=REGISTRY,
)
DLQ: Final = Counter(
    "purposegate_dlq",
    "Input records sent to the DLQ topic, by source topic and kind of error.",
    ["source_topic", "error_kind"],
    registry=REGISTRY,
)
UNCLASSIFIED_FIELDS: Final = Counter(
    "purposegate_unclassified_fields",
    "Fields seen in input events that the policy does not classify (never forwarded).",
    ["source_topic"],
    registry=REGISTRY,
)
WITHDRAWALS: Final = Counter(
    "purposegate_withdrawals",
    "Withdrawal notices (tombstones) sent to group companies, by reason.",
    ["reason"],
    registry=REGISTRY,
)
PROCESSING_SECONDS: Final = Histogram(
    "purposegate_processing_seconds",
    "Time from decoding an input record to its outputs and audit record being sent.",
    ["source_topic"],
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


def _clean(value: str) -> str:
    return value[:MAX_LABEL_LENGTH] if value else "none"


class _Counters:
    """``counter.labels(*key)`` cached per key: a dict hit instead of a lock per event."""

    __slots__ = ("_by_key", "_metric")

    def __init__(self, metric: Counter) -> None:
        self._metric = metric
        self._by_key: dict[tuple[str, ...], Counter] = {}

    def child(self, *key: str) -> Counter:
        child = self._by_key.get(key)
        if child is None:
            child = self._metric.labels(*(_clean(v) for v in key))
            self._by_key[key] = child
        return child

    def inc(self, *key: str, amount: float = 1.0) -> None:
        child = self._by_key.get(key) or self.child(*key)
        child.inc(amount)


class _Histograms:
    """Same cache for a labelled histogram."""

    __slots__ = ("_by_key", "_metric")

    def __init__(self, metric: Histogram) -> None:
        self._metric = metric
        self._by_key: dict[tuple[str, ...], Histogram] = {}

    def observe(self, *key: str, value: float) -> None:
        child = self._by_key.get(key)
        if child is None:
            child = self._metric.labels(*(_clean(v) for v in key))
            self._by_key[key] = child
        child.observe(value)


_events = _Counters(EVENTS)
_decisions = _Counters(DECISIONS)
_redacted = _Counters(FIELDS_REDACTED)
_dlq = _Counters(DLQ)
_unclassified = _Counters(UNCLASSIFIED_FIELDS)
_withdrawals = _Counters(WITHDRAWALS)
_processing = _Histograms(PROCESSING_SECONDS)

_KNOWN_ERROR_KINDS: Final = frozenset(ERROR_KINDS)


def initialise_series(source_topics: Iterable[str] = topics.INPUT_TOPICS) -> None:
    """Create the series whose first increment matters at 0, so that ``rate()`` and
    ``increase()`` see that increment (a series born at 1 shows no increase) and "no events"
    can be told from "no worker". Idempotent."""
    for topic in source_topics:
        for outcome in EVENT_OUTCOMES:
            _events.child(topic, outcome)
        for kind in ERROR_KINDS:
            _dlq.child(topic, kind)
        _unclassified.child(topic)


def observe_decision(decision: DecisionLike) -> None:
    """Count one processed input event: its outcome, every route decision, the redacted
    field categories of forwarded routes, unclassified fields and withdrawal notices."""
    source_topic = decision.source_topic
    forwarded = False
    for route in decision.decisions:
        recipient, purpose, outcome = route.recipient, route.purpose, route.outcome
        _decisions.inc(recipient, purpose, outcome, route.reason)
        if outcome == EVENT_FORWARDED:
            forwarded = True
            for category in route.redacted_categories:
                _redacted.inc(recipient, purpose, category)
    if forwarded:
        outcome_of_event = EVENT_FORWARDED
    elif source_topic in topics.STATE_TOPICS:
        outcome_of_event = EVENT_STATE
    else:
        outcome_of_event = EVENT_BLOCKED
    _events.inc(source_topic, outcome_of_event)
    unclassified = len(decision.unclassified_fields)
    if unclassified:
        _unclassified.inc(source_topic, amount=unclassified)
    for tombstone in decision.tombstones:
        _withdrawals.inc(tombstone.reason)


def observe_dlq(source_topic: str, error_kind: str) -> None:
    """Count one input record sent to the DLQ (also an event with outcome ``dlq``).
    ``error_kind`` outside :data:`ERROR_KINDS` is counted as ``other``."""
    kind = error_kind if error_kind in _KNOWN_ERROR_KINDS else OTHER_ERROR
    _dlq.inc(source_topic, kind)
    _events.inc(source_topic, EVENT_DLQ)


def observe_withdrawal(reason: str, count: int = 1) -> None:
    """Count withdrawal notices sent outside :func:`observe_decision` (which already counts
    a decision's tombstones; do not count those twice)."""
    _withdrawals.inc(reason, amount=count)


def observe_processing(source_topic: str, seconds: float) -> None:
    """Record decode → sent time of one input event."""
    _processing.observe(source_topic, value=seconds)


class timed:  # lower case: used like a function, ``with timed(topic):``
    """Times its block into ``purposegate_processing_seconds{source_topic}``.

    >>> with timed("orders"):
    ...     pass
    """

    __slots__ = ("_source_topic", "_started")

    def __init__(self, source_topic: str) -> None:
        self._source_topic = source_topic
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
        _processing.observe(self._source_topic, value=time.perf_counter() - self._started)


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
    *,
    lag_interval_s: float = 5.0,
    group_id: str | None = None,
) -> CollectorRegistry:
    """Wire metrics into a Faust app before it starts: Faust's sensor in a registry of its own,
    the merged ``/metrics`` page on the app's web port, series initialised, and a timer that
    refreshes consumer lag of the app's consumer group every ``lag_interval_s`` seconds.
    Returns Faust's registry."""
    from faust.sensors.prometheus import setup_prometheus_sensors
    from faust.web import Request, Response, View

    from streams.lag import LagCollector

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

    async def purposegate_metrics(self: View, request: Request) -> Response:
        return self.bytes(render_metrics(), headers={"Content-Type": CONTENT_TYPE})

    app.page(METRICS_PATH, name="purposegate_metrics")(purposegate_metrics)

    collector = LagCollector(settings, group_id=group_id or app.conf.id)

    async def refresh_consumer_lag() -> None:
        await collector.refresh_async()

    app.timer(interval=lag_interval_s, name="purposegate_consumer_lag")(refresh_consumer_lag)
    return faust_registry
