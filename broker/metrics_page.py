"""The worker's ``/metrics`` page: purposegate's :data:`~broker.metrics.REGISTRY` and
Faust's own sensor (a registry of its own per app) served as one page, and the consumer lag
refreshed on a timer.

Faust's sensor is kept off the per-event path (:class:`BatchPrometheusMonitor`). Faust calls its
monitor four times per input record (message in, stream event in and out, message out) and once
per table read and write; Faust's ``PrometheusMonitor`` answers each with ``labels()`` lookups,
a regex and its own bookkeeping, 27-46 µs per event here (docs/bench.md's profile). The worker
has its own per-event counters (``broker.metrics``), so this monitor skips those hooks and keeps
the rest (commits, rebalances, assignments, the producer sends Faust makes itself: the
changelog). The ``faust_*`` series the dashboard reads stay: the agent counts what it decided
and what it sent per batch (:meth:`~BatchPrometheusMonitor.count_decided`,
:meth:`~BatchPrometheusMonitor.count_sent`).
"""

from __future__ import annotations

from typing import Any, Final

import faust
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest

from broker.faust_internals import monitor_metrics
from broker.lag import LagCollector
from broker.metrics import REGISTRY, initialise_series, set_policy_version
from config.settings import Settings


class BatchPrometheusMonitor(PrometheusMonitor):  # Faust is untyped (Any to mypy)
    """Faust's Prometheus sensor without its per-record hooks (module docstring)."""

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        """Per record: counted per batch by :meth:`count_decided`."""

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        """Per record: counted per batch by :meth:`count_decided`."""

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        """Per record: nothing to count."""

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        """Per record: nothing to count."""

    def on_table_get(self, table: Any, key: Any) -> None:
        """Per record: the worker reads its table without the sensor."""

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        """Per state change: not counted."""

    def on_table_del(self, table: Any, key: Any) -> None:
        """Per state change: not counted."""

    def count_decided(self, records: int) -> None:
        """``records`` input records read and decided (Faust's received and event counters)."""
        metrics: FaustMetrics = monitor_metrics(self)
        metrics.messages_received.inc(records)
        metrics.total_events.inc(records)

    def count_sent(self, records: int, latency_ms: float) -> None:
        """A producer batch of ``records`` records delivered, ``latency_ms`` after it was
        handed over."""
        metrics: FaustMetrics = monitor_metrics(self)
        metrics.total_sent_messages.inc(records)
        metrics.producer_send_latency.observe(latency_ms)


def install_faust_sensor(app: faust.App, name_prefix: str, path: str) -> CollectorRegistry:
    """Faust's own ``setup_prometheus_sensors``, with :class:`BatchPrometheusMonitor`: its
    series in a registry of their own (returned), served alone on ``path``."""
    registry = CollectorRegistry(auto_describe=True)
    app.monitor = BatchPrometheusMonitor(metrics=FaustMetrics.create(registry, name_prefix))

    async def faust_metrics(self: View, request: Request) -> Response:
        headers = {"Content-Type": CONTENT_TYPE_PLAIN_0_0_4}
        return self.bytes(generate_latest(registry), headers=headers)

    app.page(path, name="faust_metrics")(faust_metrics)
    return registry


#: ``/metrics`` is served with the classic text format, which every Prometheus 2.x parses.
CONTENT_TYPE: Final = CONTENT_TYPE_PLAIN_0_0_4

#: Faust's own metrics are named ``faust_*`` whatever the app id, so dashboards stay stable.
FAUST_METRIC_PREFIX: Final = "faust"
#: Faust's sensor page would also claim ``/metrics``; it gets this path, we serve the merged one.
FAUST_ONLY_PATH: Final = "/metrics/faust"
METRICS_PATH: Final = "/metrics"

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
    faust_registry = install_faust_sensor(app, FAUST_METRIC_PREFIX, FAUST_ONLY_PATH)
    # Only the registry of the app that serves the page: several apps in one process (tests)
    # must not publish each other's Faust series.
    _page_registries[:] = [faust_registry]
    initialise_series()
    if policy_version is not None:
        set_policy_version(policy_version)

    async def purposegate_metrics(self: View, request: Request) -> Response:
        return self.bytes(render_metrics(), headers={"Content-Type": CONTENT_TYPE})

    app.page(METRICS_PATH, name="purposegate_metrics")(purposegate_metrics)

    lag = collector or LagCollector(settings, group_id=group_id or app.conf.id)

    async def refresh_consumer_lag() -> None:
        await lag.refresh_async()

    app.timer(interval=lag_interval_s, name="purposegate_consumer_lag")(refresh_consumer_lag)
    return faust_registry
