"""The worker's ``/metrics`` page: purposegate's :data:`~streams.kafka.metrics.REGISTRY` and
Faust's own sensor (a registry of its own per app) served as one page, and the consumer lag
refreshed on a timer."""

from __future__ import annotations

from typing import Final

import faust
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest

from streams.kafka.faust_sensor import install_faust_sensor
from streams.kafka.lag import LagCollector
from streams.kafka.metrics import REGISTRY, initialise_series, set_policy_version
from streams.settings import Settings

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
