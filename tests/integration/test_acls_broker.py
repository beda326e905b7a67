"""Access control proven on a broker that enforces it: a broker of this module's own with
KRaft's ``StandardAuthorizer`` (nothing allowed without an ACL), SCRAM users for two recipients
(one with a principal of its own, ``User:cargo``, by ``PURPOSEGATE_RECIPIENT_PRINCIPALS``),
the worker and the privacy office, and the ACLs ``purposegate topics --create --acls`` makes
from the policy. The worker runs end to end with only its own ACLs; a recipient reads its own
topic and is refused everything else (``TopicAuthorizationFailedError`` /
``GroupAuthorizationFailedError`` at once, not a timeout); ``acls --check`` finds a grant added
by hand. The inputs come from an input producer of its own (``User:shop``).

Super users only where the broker needs them: ``broker`` (the broker talks to itself over the
SASL listener), ``ANONYMOUS`` (the KRaft controller listener stays PLAINTEXT on 127.0.0.1) and
``admin`` (the test creates topics and ACLs as an operator would). The schema registry is the
session's, separate and unauthenticated.
"""

from __future__ import annotations

import io
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from unittest import mock

import pytest
from kafka import TopicPartition
from kafka.errors import (
    GroupAuthorizationFailedError,
    TopicAuthorizationFailedError,
)

from bench.workers import PURPOSEGATE, WorkerProcess, free_port, settings_env
from broker.access import Binding
from broker.acls import create_bindings
from broker.clients import consumer
from cli.main import main
from config.settings import Settings
from policy import topics
from tests.integration.brokers import OwnBroker, own_broker
from tests.integration.kafka_io import Received, produce_raw, read_topics
from tests.integration.streams_for_tests import (
    codec,
    encode_lines,
    isolated_settings,
    sample_lines,
    shared_topics,
)

pytestmark = pytest.mark.integration

MECHANISM = "SCRAM-SHA-512"
#: user → throwaway password of this test broker
USERS = {
    "broker": "broker-pw-51c0",
    "admin": "admin-pw-9d2e",
    "purposegate": "worker-pw-77b1",
    "privacy-office": "office-pw-3a48",
    "cargo": "cargo-pw-e605",
    "septem-financial": "financial-pw-0c9f",
    "shop": "shop-pw-41d7",
}
SUPER_USERS = "User:broker;User:admin;User:ANONYMOUS"
PRINCIPALS = {
    "PURPOSEGATE_RECIPIENT_PRINCIPALS": '{"septem-cargo": "User:cargo"}',
    "PURPOSEGATE_PRODUCER_PRINCIPALS": '["User:shop"]',
}
OWN_TOPIC = topics.shared_topic("septem-cargo", "fulfilment")
OTHERS_TOPIC = topics.shared_topic("septem-financial", "fulfilment")
OTHERS_GROUP = "septem-financial.fulfilment"
#: how long a refusal may take: an answer, not a timeout
REFUSED_WITHIN_S = 5.0

PROPERTIES = f"""
listeners=SASL_PLAINTEXT://127.0.0.1:{{port}},CONTROLLER://127.0.0.1:{{controller_port}}
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{{port}}
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_PLAINTEXT
sasl.enabled.mechanisms={MECHANISM}
sasl.mechanism.inter.broker.protocol={MECHANISM}
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=\\
org.apache.kafka.common.security.scram.ScramLoginModule required \\
username="broker" password="{USERS["broker"]}";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users={SUPER_USERS}
"""


def as_user(user: str) -> dict[str, str]:
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": MECHANISM,
        "KAFKA_SASL_USERNAME": user,
        "KAFKA_SASL_PASSWORD": USERS[user],
        "KAFKA_CONNECT_TIMEOUT_S": "5",
    }


@dataclass(frozen=True)
class World:
    """The module's broker after one worker run: settings per user, what the worker wrote."""

    broker: OwnBroker
    admin: Settings
    inputs: int
    audit: list[Received]
    shared: list[Received]
    worker_log: str

    def settings(self, user: str) -> Settings:
        return self.admin.model_copy(update=_fields(user))

    def env(self, user: str) -> dict[str, str]:
        return {**settings_env(self.admin), **PRINCIPALS, **as_user(user)}

    def command(self, user: str, *args: str) -> subprocess.CompletedProcess[str]:
        """``purposegate ARGS`` as ``user``, in this process (no interpreter start-up)."""
        out, err = io.StringIO(), io.StringIO()
        with (
            mock.patch.dict(os.environ, self.env(user)),
            redirect_stdout(out),
            redirect_stderr(err),
        ):
            code = main(list(args))
        return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def _fields(user: str) -> dict[str, object]:
    return Settings.model_validate(as_user(user)).model_dump(
        include={"kafka_security_protocol", "kafka_sasl_mechanism", "kafka_sasl_username",
                 "kafka_sasl_password", "kafka_connect_timeout_s"}
    )  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Start the broker, create topics and ACLs as the admin, run the worker as its own user
    over a small sample the shop (an input producer) writes, read what it wrote."""
    tmp = tmp_path_factory.mktemp("acls")
    users = [f"{MECHANISM}=[name={u},password={p}]" for u, p in USERS.items()]
    with own_broker(tmp, PROPERTIES, users) as broker:
        admin = isolated_settings(broker.bootstrap, tmp, **as_user("admin"), **PRINCIPALS)
        world = World(broker, admin, 0, [], [], "")
        made = world.command("admin", "topics", "--create", "--acls")
        assert made.returncode == 0, made.stdout + made.stderr
        records = encode_lines(sample_lines(tmp / "s.jsonl", 5, 20, 300), codec())
        worker = WorkerProcess.start(
            admin, tmp, free_port(), {**PRINCIPALS, **as_user("purposegate")}
        )
        try:
            worker.wait_ready(timeout=90)
            produce_raw(world.settings("shop"), ((r.topic, r.key, r.value) for r in records))
            office = world.settings("privacy-office")
            audit = read_topics(office, [topics.AUDIT], until=len(records), timeout=90)
            shared = read_topics(admin, shared_topics(), idle=2.0)
        finally:
            assert worker.stop() == 0, worker.log_tail()
        log = worker.log_path.read_text(errors="replace")
        yield World(broker, admin, len(records), audit, shared, log)


def test_when_the_worker_has_only_its_acls_then_every_input_is_decided(world: World) -> None:
    assert len(world.audit) >= world.inputs, world.worker_log[-3000:]
    assert {r.topic for r in world.shared} >= {OWN_TOPIC, OTHERS_TOPIC}
    assert "AuthorizationFailed" not in world.worker_log
    print(f"worker as User:purposegate: {world.inputs} inputs, {len(world.audit)} audit, "
          f"{len(world.shared)} shared records")  # fmt: skip


def first_records(settings: Settings, topic: str) -> list[bytes | None]:
    """Read ``topic`` from the beginning without a group (``dump``'s way) until a record.
    Where a read starts is the broker's first answer (ListOffsets): a refusal comes there."""
    client = consumer(settings)
    try:
        partitions = [TopicPartition(settings.topic(topic), p) for p in range(settings.partitions)]
        client.assign(partitions)
        client.seek_to_beginning(*partitions)
        for partition in partitions:
            client.position(partition)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            batch = client.poll(timeout_ms=500)
            if batch:
                return [r.value for records in batch.values() for r in records]
        return []
    finally:
        client.close()


def test_when_a_recipient_reads_its_own_topic_then_it_gets_its_records(world: World) -> None:
    assert first_records(world.settings("cargo"), OWN_TOPIC)


@pytest.mark.parametrize(
    ("user", "topic"),
    [
        ("cargo", OTHERS_TOPIC),  # another company's topic: Section 6/7, disclosed to no other
        ("cargo", f"{topics.SHARED_PREFIX}septem-souken.product_development"),  # a third's
        ("cargo", topics.ORDERS),  # an input topic: everything, unfiltered
        ("cargo", topics.CONSENTS),  # another input
        ("cargo", topics.AUDIT),  # the record of provision, customer ids: the office's
        ("cargo", topics.DLQ),  # raw bytes of rejected personal data: the office's
        ("septem-financial", OWN_TOPIC),  # the other way round, on its default principal
        ("privacy-office", OWN_TOPIC),  # the office reads the audit, not what went out
        ("privacy-office", topics.ORDERS),  # nor the inputs
        ("shop", topics.ORDERS),  # an input producer writes the inputs, reads none
    ],
)
def test_when_a_principal_reads_a_topic_not_its_own_then_the_broker_refuses_at_once(
    world: World, user: str, topic: str
) -> None:
    started = time.monotonic()
    with pytest.raises(TopicAuthorizationFailedError):
        first_records(world.settings(user), topic)
    assert time.monotonic() - started < REFUSED_WITHIN_S


def test_when_a_recipient_joins_another_recipients_group_then_it_is_refused(
    world: World,
) -> None:
    settings = world.settings("cargo")
    client = consumer(settings, group_id=OTHERS_GROUP)
    started = time.monotonic()
    try:
        client.subscribe([settings.topic(OWN_TOPIC)])
        with pytest.raises(GroupAuthorizationFailedError):
            for _ in range(20):
                client.poll(timeout_ms=250)
    finally:
        client.close()
    assert time.monotonic() - started < REFUSED_WITHIN_S


def test_when_a_read_grant_is_added_by_hand_then_check_reports_it(world: World) -> None:
    clean = world.command("admin", "acls", "--check")
    assert (clean.returncode, clean.stderr) == (0, ""), clean.stdout
    by_hand = Binding("User:cargo", "topic", world.admin.topic(OTHERS_TOPIC), operation="Read")
    create_bindings(world.admin, [by_hand])
    found = world.command("admin", "acls", "--check")
    assert found.returncode == 1, found.stdout + found.stderr
    assert found.stdout.splitlines() == [
        f"extra: User:cargo may Read topic {world.admin.topic(OTHERS_TOPIC)}"
    ]


def test_when_a_recipient_starts_the_worker_then_it_stops_in_one_line(world: World) -> None:
    # it sees only its own topics, and may create none of the others
    done = subprocess.run(
        [str(PURPOSEGATE), "worker", "--web-port", str(free_port())],
        env={**os.environ, **world.env("cargo")}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "may not create it" in done.stderr.strip().splitlines()[-1], done.stderr
    assert "Traceback" not in done.stderr
