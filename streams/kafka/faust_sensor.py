"""Faust's Prometheus sensor, kept off the per-event path.

Faust calls its monitor four times per input record (message in, stream event in and out,
message out) and once per table read and write; Faust's ``PrometheusMonitor`` answers each
with ``labels()`` lookups, a regex and its own bookkeeping, 27-46 µs per event here
(docs/bench.md's profile). The worker has its own per-event counters (``streams.kafka.metrics``),
so this monitor skips those hooks and keeps the rest (commits, rebalances, assignments, the
producer sends Faust makes itself: the changelog). The ``faust_*`` series the dashboard reads
stay: the agent counts what it decided and what it sent per batch (:meth:`count_decided`,
:meth:`count_sent`).
"""

from __future__ import annotations

from typing import Any

import faust
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest


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
        metrics: FaustMetrics = self._metrics
        metrics.messages_received.inc(records)
        metrics.total_events.inc(records)

    def count_sent(self, records: int, latency_ms: float) -> None:
        """A producer batch of ``records`` records delivered, ``latency_ms`` after it was
        handed over."""
        metrics: FaustMetrics = self._metrics
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
