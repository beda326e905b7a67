"""TLS and SCRAM: a broker of this test's own whose only client listener is ``SASL_SSL`` with
SCRAM-SHA-512, certificates made by the test (``tests/certificates.py``, openssl), and mutual
TLS required on the listener (``listener.name.sasl_ssl.ssl.client.auth``: plain
``ssl.client.auth`` is ignored on SASL_SSL listeners), so a client without its certificate is
refused too. The worker (Faust/aiokafka) and every command that talks to Kafka (kafka-python:
``topics``, ``produce``, ``dump``, ``explain``) connect over it; a wrong CA, a wrong password or
a missing client certificate ends each of them with one readable line, exit 2, no traceback, no
secret.

The KRaft controller listener stays PLAINTEXT on 127.0.0.1; the broker talks to itself over
SASL_SSL with its own SCRAM user.
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
from tests.certificates import KEY_PASSWORD, Certificates, make_certificates
from tests.integration.brokers import OwnBroker, own_broker
from tests.integration.kafka_io import read_topics
from tests.integration.streams_for_tests import isolated_settings, sample_lines, shared_topics

pytestmark = pytest.mark.integration

PASSWORD = "scram-pw-3c9e01d7a5"  # a test broker's throwaway password
WRONG = "scram-pw-not-the-one"
BROKER_PASSWORD = "broker-pw-66d0a2"
MECHANISM = "SCRAM-SHA-512"


def broker_properties(certs: Certificates) -> str:
    """Later lines of a properties file win: these replace kafka.sh's PLAINTEXT listener."""
    return f"""
listeners=SASL_SSL://127.0.0.1:{{port}},CONTROLLER://127.0.0.1:{{controller_port}}
advertised.listeners=SASL_SSL://127.0.0.1:{{port}}
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms={MECHANISM}
sasl.mechanism.inter.broker.protocol={MECHANISM}
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=\\
org.apache.kafka.common.security.scram.ScramLoginModule required \\
username="broker" password="{BROKER_PASSWORD}";
ssl.keystore.type=PEM
ssl.keystore.location={certs.broker_keystore}
ssl.truststore.type=PEM
ssl.truststore.location={certs.ca}
listener.name.sasl_ssl.ssl.client.auth=required
"""


def tls_env(certs: Certificates, **change: str) -> dict[str, str]:
    env = {
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": MECHANISM,
        "KAFKA_SASL_USERNAME": "pipeline",
        "KAFKA_SASL_PASSWORD": PASSWORD,
        "KAFKA_SSL_CAFILE": str(certs.ca),
        "KAFKA_SSL_CERTFILE": str(certs.client_cert),
        "KAFKA_SSL_KEYFILE": str(certs.client_key),
        "KAFKA_SSL_KEY_PASSWORD": KEY_PASSWORD,
        # the worker waits 30 s for the cluster by default; the commands wait 5 s
        "KAFKA_CONNECT_TIMEOUT_S": "5",
    }
    return {**env, **change}


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_broker(
    tmp_path_factory: pytest.TempPathFactory, certs: Certificates
) -> Iterator[OwnBroker]:
    users = [
        f"{MECHANISM}=[name=broker,password={BROKER_PASSWORD}]",
        f"{MECHANISM}=[name=pipeline,password={PASSWORD}]",
    ]
    with own_broker(tmp_path_factory.mktemp("tls"), broker_properties(certs), users) as broker:
        yield broker


def secrets_of(settings: Settings) -> list[str]:
    assert settings.pseudonym_keys_file is not None
    keys = json.loads(settings.pseudonym_keys_file.read_text())
    return [PASSWORD, WRONG, KEY_PASSWORD, BROKER_PASSWORD, *keys.values()]


def run_command(
    settings: Settings, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **settings_env(settings), **env}
    return subprocess.run(
        [str(PURPOSEGATE), *args], env=full_env, capture_output=True, text=True, timeout=120
    )


def test_when_the_cluster_wants_tls_and_scram_then_the_worker_and_every_command_work(
    tls_broker: OwnBroker, certs: Certificates, tmp_path: Path
) -> None:
    settings = isolated_settings(tls_broker.bootstrap, tmp_path, **tls_env(certs))
    env = tls_env(certs)
    outputs: list[str] = []

    def ok(*args: str) -> str:
        done = run_command(settings, env, *args)
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == 0, f"{args[0]}: {done.stderr}"
        return done.stdout

    ok("topics", "--create")
    lines = sample_lines(tmp_path / "sample.jsonl", 5, 10, 150)
    worker = WorkerProcess.start(settings, tmp_path, free_port(), env)
    try:
        worker.wait_ready(timeout=90)
        ok("produce", str(tmp_path / "sample.jsonl"))
        audit = read_topics(settings, [topics.AUDIT], until=len(lines), timeout=90)
        dump = ok("dump", topics.AUDIT, *shared_topics())
        dumped = [json.loads(line) for line in dump.splitlines()]
        event_id = audit_event_id(dumped)
        explained = ok("explain", event_id)
    finally:
        assert worker.stop() == 0, worker.log_tail()
    assert len(audit) >= len(lines), worker.log_tail()
    assert {d["topic"] for d in dumped} > {topics.AUDIT}, "no output reached a shared topic"
    assert f"event {event_id} " in explained
    texts = [worker.log_path.read_text(errors="replace"), *outputs]
    leaked = [s for s in secrets_of(settings) if any(s in text for text in texts)]
    assert not leaked, "a secret is in the worker's log or a command's output"
    print(
        f"SASL_SSL/{MECHANISM}+mTLS: {len(lines)} inputs, {len(audit)} audit, {len(dumped)} dumped"
    )  # noqa: E501


def audit_event_id(dumped: list[dict[str, object]]) -> str:
    for line in dumped:
        value = line.get("value")
        if line["topic"] == topics.AUDIT and isinstance(value, dict):
            return str(value["event_id"])
    raise AssertionError("no audit record dumped")


WRONG_CA = "the broker's TLS certificate is not trusted (unable to get local issuer certificate)"
# Either "the broker refused the SASL authentication of user ..." or, when kafka-python loses the
# broker's answer in the close that follows it, "the broker closed the connection during the SASL
# authentication of user ..." (broker/diagnosis.py).
WRONG_PASSWORD = f"SASL authentication of user 'pipeline' with {MECHANISM}"
NO_CLIENT_CERT = "the broker refused the TLS client certificate"
COMMANDS = {
    "topics": ["topics", "--create"],
    "produce": ["produce", "{sample}"],
    "dump": ["dump", topics.AUDIT],
    "explain": ["explain", "ev-0000001"],
    "worker": ["worker"],
}


@pytest.fixture(scope="module")
def refused(
    tls_broker: OwnBroker, certs: Certificates, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, dict[str, str]]:
    """Settings and file places shared by the rows below (none of them creates anything)."""
    folder = tmp_path_factory.mktemp("refused")
    sample_lines(folder / "sample.jsonl", 1, 2, 5)
    places = {"other_ca": str(certs.other_ca), "missing": str(folder / "no-ca.pem"),
              "sample": str(folder / "sample.jsonl")}  # fmt: skip
    return isolated_settings(tls_broker.bootstrap, folder, **tls_env(certs)), places


@pytest.mark.parametrize(
    ("command", "change", "expected"),
    [
        ("topics", {"KAFKA_SSL_CAFILE": "{other_ca}"}, WRONG_CA),  # a CA that did not sign it
        ("produce", {"KAFKA_SSL_CAFILE": "{other_ca}"}, WRONG_CA),
        ("dump", {"KAFKA_SSL_CAFILE": "{other_ca}"}, WRONG_CA),
        ("explain", {"KAFKA_SSL_CAFILE": "{other_ca}"}, WRONG_CA),
        ("worker", {"KAFKA_SSL_CAFILE": "{other_ca}"}, WRONG_CA),
        ("topics", {"KAFKA_SASL_PASSWORD": WRONG}, WRONG_PASSWORD),  # SCRAM refuses it
        ("produce", {"KAFKA_SASL_PASSWORD": WRONG}, WRONG_PASSWORD),
        ("dump", {"KAFKA_SASL_PASSWORD": WRONG}, WRONG_PASSWORD),
        ("explain", {"KAFKA_SASL_PASSWORD": WRONG}, WRONG_PASSWORD),
        ("worker", {"KAFKA_SASL_PASSWORD": WRONG}, WRONG_PASSWORD),
        # mutual TLS: no client certificate (empty variables count as unset)
        ("dump", {"KAFKA_SSL_CERTFILE": "", "KAFKA_SSL_KEYFILE": ""}, NO_CLIENT_CERT),
        # a CA file that is not there: a settings problem, found before any connection
        ("worker", {"KAFKA_SSL_CAFILE": "{missing}"}, "is not a readable PEM CA file"),
        # the client key's password is wrong: the key does not open
        ("produce", {"KAFKA_SSL_KEY_PASSWORD": WRONG}, "no usable certificate and key"),
    ],
)
def test_when_the_ca_or_a_password_is_wrong_then_one_readable_line_and_exit_2(
    refused: tuple[Settings, dict[str, str]],
    certs: Certificates,
    command: str,
    change: dict[str, str],
    expected: str,
) -> None:
    settings, places = refused
    env = tls_env(certs, **{k: v.format(**places) for k, v in change.items()})
    args = [arg.format(**places) for arg in COMMANDS[command]]
    done = run_command(settings, env, *args)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output, output
    assert output.strip().count("\n") == 0, f"more than one line:\n{output}"
    assert expected in output, output
    leaked = [s for s in secrets_of(settings) if s in output]
    assert not leaked, f"a secret is in the error output:\n{output}"
    print(f"{command} {sorted(change)} -> exit 2: {output.strip()}")
