"""``install_metrics`` wires one ``/metrics`` page (ours + Faust's sensor) into a Faust app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from broker import metrics_page
from broker.app import build_app
from config.settings import Settings


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    settings = Settings.model_validate({"PURPOSEGATE_APP_ID": "purposegate-unit-page"})
    app = build_app(settings)
    metrics_page.install_metrics(app, settings)
    web: Any = app.web  # the aiohttp driver; its aiohttp application is web_app
    web_app = web.web_app
    async with TestClient(TestServer(web_app)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("path", "present", "absent"),
    [
        # the merged page: our metrics and Faust's, under fixed names whatever the app id
        ("/metrics", ("purposegate_events_total", "faust_messages_received_total"), ()),
        # Faust's own page moved aside so that it does not claim /metrics
        ("/metrics/faust", ("faust_messages_received_total",), ("purposegate_events_total",)),
    ],
)
async def test_when_page_scraped_then_it_serves_the_right_registries(
    client: TestClient,  # type: ignore[type-arg]
    path: str,
    present: tuple[str, ...],
    absent: tuple[str, ...],
) -> None:
    response = await client.get(path)
    text = await response.text()
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert all(name in text for name in present)
    assert not any(name in text for name in absent)
    assert "purposegate_unit_page" not in text  # app id never becomes a metric prefix


@pytest.mark.parametrize(
    "metric",
    [
        "process_start_time_seconds",  # the no-events alert waits for 10 minutes of uptime
        # created at 0 so that the first DLQ record shows as an increase
        'purposegate_dlq_total{error_kind="unknown_topic",source_topic="subject-requests"}',
    ],
)
async def test_when_worker_just_started_then_alert_inputs_are_exported(
    client: TestClient,  # type: ignore[type-arg]
    metric: str,
) -> None:
    text = await (await client.get("/metrics")).text()
    assert metric in text
