"""The one real Kafka broker of the test session, and per-test isolation.

The broker is started once per session with ``deploy/kafka/kafka.sh up`` (idempotent; `make
test` has usually started it already) unless ``KAFKA_BOOTSTRAP`` names one. Each test gets its
own topic prefix and consumer group, so tests never see each other's records.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.workers import WorkerProcess, free_port
from config.settings import Settings
from tests.integration.registry import local_registry, wire_env

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Bootstrap servers of the real broker every integration test runs against."""
    given = os.environ.get("KAFKA_BOOTSTRAP")
    if given:
        return given
    port = os.environ.get("KAFKA_PORT", "19092")
    subprocess.run(
        [str(REPO / "deploy" / "kafka" / "kafka.sh"), "up"],
        check=True,
        env={**os.environ, "KAFKA_PORT": port},
    )
    os.environ["KAFKA_BOOTSTRAP"] = f"127.0.0.1:{port}"
    return f"127.0.0.1:{port}"


@pytest.fixture(scope="session")
def schema_registry_url() -> Iterator[str]:
    """A real Confluent-compatible registry (``tests.integration.registry``)."""
    yield from local_registry()


@pytest.fixture
def topic_prefix() -> str:
    """A prefix that makes every topic (and the consumer group) of one test unique."""
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def pseudonym_keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "pseudonym-keys.json"
    subprocess.run(
        [str(REPO / ".venv" / "bin" / "purposegate"), "keys", "--init", str(path)], check=True
    )
    return path


@pytest.fixture
def settings(kafka_bootstrap: str, topic_prefix: str, pseudonym_keys_file: Path) -> Settings:
    """Settings of one test: its own topics, app id (= consumer group) and keys."""
    return Settings.model_validate(
        {
            "KAFKA_BOOTSTRAP": kafka_bootstrap,
            "PURPOSEGATE_TOPIC_PREFIX": topic_prefix,
            "PURPOSEGATE_APP_ID": f"purposegate-{topic_prefix.rstrip('.')}",
            "PURPOSEGATE_PSEUDONYM_KEYS_FILE": str(pseudonym_keys_file),
            **wire_env(),
        }
    )


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[type[WorkerProcess]]:
    """Starts ``purposegate worker`` subprocesses for this test; all are stopped afterwards."""
    started: list[WorkerProcess] = []

    def factory(**env: str) -> WorkerProcess:
        worker = WorkerProcess.start(settings, tmp_path, web_port=free_port(), extra_env=env)
        started.append(worker)
        return worker

    yield factory  # type: ignore[misc]
    for worker in started:
        worker.stop()
