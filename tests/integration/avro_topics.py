"""Helpers of the Avro integration tests: settings for one test, explicit topic creation."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from kafka.admin import NewTopic

from broker.clients import admin_client
from config.settings import Settings

REPO = Path(__file__).resolve().parents[2]
CLI = str(REPO / ".venv" / "bin" / "purposegate")


def settings_for(bootstrap: str, prefix: str, **extra: str) -> Settings:
    return Settings.model_validate(
        {"KAFKA_BOOTSTRAP": bootstrap, "PURPOSEGATE_TOPIC_PREFIX": prefix, **extra}
    )


def create_topics(settings: Settings, names: Iterable[str], partitions: int = 3) -> None:
    """Create ``names`` (logical) with the test's prefix; the broker never auto-creates."""
    admin = admin_client(settings)
    try:
        admin.create_topics(
            [
                NewTopic(settings.topic(n), num_partitions=partitions, replication_factor=1)
                for n in names
            ]
        )
    finally:
        admin.close()


def run_cli(
    args: list[str], settings: Settings, env: Mapping[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """``purposegate ARGS`` as a subprocess with this test's settings in the environment."""
    full_env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "PURPOSEGATE_TOPIC_PREFIX": settings.topic_prefix,
        **(env or {}),
    }
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=full_env, timeout=timeout, check=False
    )
