"""``purposegate topics --check`` against the real broker: drift between the policy's topics
(partitions, each shared topic's retention) and the broker's configuration, one line each;
exit 1 with drift, 0 without, 2 (one line) when the broker cannot be reached."""

from __future__ import annotations

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from broker.clients import admin_client
from config.settings import Settings
from policy.loader import load_policy
from tests.integration.avro_topics import create_topics, run_cli

pytestmark = pytest.mark.integration

DAY_MS = "86400000"


def check(settings: Settings, **env: str) -> tuple[int, list[str], str]:
    keys = {"PURPOSEGATE_PSEUDONYM_KEYS_FILE": str(settings.pseudonym_keys_file), **env}
    done = run_cli(["topics", "--check"], settings, keys)
    return done.returncode, done.stdout.splitlines(), done.stderr


def set_retention(settings: Settings, topic: str, ms: str) -> None:
    set_config(settings, topic, {"retention.ms": ms})


def set_config(settings: Settings, topic: str, config: dict[str, str]) -> None:
    admin = admin_client(settings)
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, settings.topic(topic), configs=config)
        admin.alter_configs([resource])
    finally:
        admin.close()


def test_when_the_broker_drifts_from_the_policy_then_check_names_each_drift_and_create_fixes_it(
    settings: Settings,
) -> None:
    # nothing created yet: every topic is missing
    code, lines, _ = check(settings)
    assert code == 1
    assert all(line.endswith("missing on the broker (purposegate topics --create makes it)")
               for line in lines)  # fmt: skip
    assert f"{settings.topic('shared.affectus.marketing')}: missing" in "\n".join(lines)
    # created as the policy wants: no drift
    keys = {"PURPOSEGATE_PSEUDONYM_KEYS_FILE": str(settings.pseudonym_keys_file)}
    assert run_cli(["topics", "--create"], settings, keys).returncode == 0
    code, lines, _ = check(settings)
    assert (code, len(lines)) == (0, 1), lines
    assert lines[0].startswith("no drift:")
    # a retention changed by hand, and a shared topic no route writes any more
    set_retention(settings, "shared.affectus.marketing", DAY_MS)
    create_topics(settings, ["shared.affectus.campaign"])
    code, lines, _ = check(settings)
    wanted = load_policy().topic_retention()["shared.affectus.marketing"]
    assert code == 1
    assert lines == [
        f"{settings.topic('shared.affectus.marketing')}: retention.ms is {DAY_MS} (1 day) on the "
        f"broker, the policy wants {int(wanted.total_seconds() * 1000)} ({wanted.days} days)",
        f"{settings.topic('shared.affectus.campaign')}: on the broker but written by no route of "
        "the policy (its records stay until its retention ends)",
    ]
    # --create sets the policy's retention on the existing topic; the stale topic stays reported
    done = run_cli(["topics", "--create"], settings, keys)
    assert done.returncode == 0, done.stderr
    assert f"{settings.topic('shared.affectus.marketing')}: retention.ms set to" in done.stdout
    code, lines, _ = check(settings)
    assert (code, len(lines)) == (1, 1) and "written by no route" in lines[0], lines


def test_when_the_broker_cannot_be_reached_then_check_says_so_in_one_line(
    settings: Settings,
) -> None:
    code, lines, stderr = check(settings, KAFKA_BOOTSTRAP="127.0.0.1:9")
    assert (code, lines) == (2, [])
    assert len(stderr.splitlines()) == 1 and "Traceback" not in stderr, stderr
    assert "127.0.0.1:9" in stderr


def test_when_a_shared_topic_lacks_the_erasure_bound_then_check_fails_and_create_sets_it(
    settings: Settings,
) -> None:
    keys = {"PURPOSEGATE_PSEUDONYM_KEYS_FILE": str(settings.pseudonym_keys_file)}
    # made by hand (or by an older purposegate) with the partitions only: segment.ms is the
    # broker's week, so a record could stay a week longer than the policy says
    topic = "shared.septem-cargo.fulfilment"
    create_topics(settings, [topic], partitions=Settings.model_construct().partitions)
    assert run_cli(["topics", "--create"], settings, keys).returncode == 0
    set_config(settings, topic, {"segment.ms": "604800000", "cleanup.policy": "compact"})
    code, lines, _ = check(settings)
    name = settings.topic(topic)
    assert code == 1
    assert lines == [
        f"{name}: cleanup.policy is compact on the broker, the policy wants delete",
        f"{name}: segment.ms is 604800000 (7 days) on the broker, the policy wants 86400000 "
        "(1 day)",
    ]
    done = run_cli(["topics", "--create"], settings, keys)
    assert f"{name}: segment.ms set to 86400000 (1 day) (was 604800000 (7 days))" in done.stdout
    assert f"{name}: cleanup.policy set to delete (was compact)" in done.stdout
    assert check(settings)[0] == 0
