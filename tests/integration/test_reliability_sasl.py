"""Authenticated Kafka: a broker of this test's own whose only client listener is
SASL_PLAINTEXT (PLAIN). The worker and kafka-python connect with ``KAFKA_SASL_*`` settings,
records flow, and neither the password nor the HMAC keys appear in logs or error messages.

Later lines of a Java properties file win, so the SASL listener replaces the PLAINTEXT one
that ``kafka.sh`` writes first (the KRaft controller listener stays PLAINTEXT).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.workers import PURPOSEGATE, WorkerProcess, free_port, settings_env
from config.settings import Settings
from policy import topics
from tests.integration.brokers import OwnBroker, own_broker
from tests.integration.kafka_io import produce_raw, read_topics
from tests.integration.streams_for_tests import (
    codec,
    encode_lines,
    isolated_settings,
    sample_lines,
    shared_topics,
)

pytestmark = pytest.mark.integration

PASSWORD = "pw-7f3a91c2e8d4b6a0"  # noqa: S105 - a test broker's throwaway password
WRONG = "pw-0000-not-the-one"  # noqa: S105
SASL_PROPERTIES = f"""
listeners=SASL_PLAINTEXT://127.0.0.1:{{port}},CONTROLLER://127.0.0.1:{{controller_port}}
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{{port}}
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=\
org.apache.kafka.common.security.plain.PlainLoginModule required \
username="broker" password="broker-pw" user_broker="broker-pw" user_pipeline="{PASSWORD}";
"""


def sasl_env(password: str) -> dict[str, str]:
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "PLAIN",
        "KAFKA_SASL_USERNAME": "pipeline",
        "KAFKA_SASL_PASSWORD": password,
    }


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnBroker]:
    with own_broker(tmp_path_factory.mktemp("sasl"), SASL_PROPERTIES) as broker:
        yield broker


def secrets_of(settings: Settings) -> list[str]:
    assert settings.pseudonym_keys_file is not None
    keys = json.loads(settings.pseudonym_keys_file.read_text())
    return [PASSWORD, *keys.values()]


def test_when_the_broker_requires_sasl_then_the_worker_authenticates_and_records_flow(
    sasl_broker: OwnBroker, tmp_path: Path
) -> None:
    settings = isolated_settings(sasl_broker.bootstrap, tmp_path, **sasl_env(PASSWORD))
    records = encode_lines(sample_lines(tmp_path / "s.jsonl", 3, 10, 200), codec())
    worker = WorkerProcess.start(settings, tmp_path, free_port(), sasl_env(PASSWORD))
    try:
        worker.wait_ready(timeout=90)
        produce_raw(settings, ((r.topic, r.key, r.value) for r in records))  # kafka-python, SASL
        audit = read_topics(settings, [topics.AUDIT], until=len(records), timeout=90)
        shared = read_topics(settings, shared_topics(), idle=2.0)
    finally:
        assert worker.stop() == 0
    assert len(audit) >= len(records), worker.log_tail()
    assert shared, "no output reached a shared topic"
    log = worker.log_path.read_text(errors="replace")
    leaked = [s for s in secrets_of(settings) if s in log]
    assert not leaked, "a secret is in the worker's log"
    print(f"SASL/PLAIN: {len(records)} inputs, {len(audit)} audit, {len(shared)} shared records")


@pytest.mark.parametrize(
    ("password", "what"),
    [
        # wrong password: the broker refuses the login; kafka-python reads either the refusal
        # or, when the answer and the close arrive together, only the close — both readings
        # name the user, the mechanism and the setting to check
        (WRONG, "sasl authentication of user 'pipeline' with plain"),
    ],
)
def test_when_the_sasl_password_is_wrong_then_topics_fails_readably_without_secrets(
    sasl_broker: OwnBroker, tmp_path: Path, password: str, what: str
) -> None:
    settings = isolated_settings(sasl_broker.bootstrap, tmp_path, **sasl_env(password))
    env = {**os.environ, **settings_env(settings), **sasl_env(password)}
    done = subprocess.run(
        [str(PURPOSEGATE), "topics", "--create"], env=env, capture_output=True, timeout=120
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    assert what in output.lower(), output
    assert "KAFKA_SASL_PASSWORD" in output, output
    leaked = [s for s in [password, *secrets_of(settings)] if s in output]
    assert not leaked, f"a secret is in the error output:\n{output}"
    print(f"wrong password -> exit {done.returncode}: {output.strip().splitlines()[-1]}")
