"""Explicit topic creation: partitions, retention and compaction are decided here, never by
broker auto-creation (which the local broker disables)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from kafka.admin import NewTopic
from kafka.errors import AuthorizationError, TopicAlreadyExistsError

from broker.clients import admin_client
from config.settings import Settings
from policy import topics
from policy.erasure import DEFAULT_SEGMENT_ROLL, DELETE_DELAY, topic_segment_roll
from policy.errors import ConfigError
from policy.models import Policy

DLQ_RETENTION_MS = 30 * 24 * 3600 * 1000
SHARED_RETENTION_MS = 30 * 24 * 3600 * 1000
SHARED_SEGMENT_MS = int(DEFAULT_SEGMENT_ROLL.total_seconds() * 1000)


@dataclass(frozen=True)
class TopicSpec:
    """One topic as purposegate wants it on the broker (logical name, before the prefix)."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def topic_specs(
    settings: Settings,
    shared_topics: Iterable[str],
    retention: Mapping[str, timedelta] | None = None,
    segment_roll: Mapping[str, timedelta] | None = None,
) -> list[TopicSpec]:
    """Every topic the pipeline reads or writes.

    ``retention``, ``segment_roll``: each shared topic's as the policy declares them (default
    30 days, daily): with the broker's retention check they bound how long a record can stay
    (``policy.erasure``; ``cleanup.policy=delete``, explicit ``file.delete.delay.ms``).

    All input topics share one partition count and are keyed by ``customer_id``, so one worker
    owns all of a customer's events and consent state (co-partitioning). The audit topic keeps
    three years: it is the record of provision (APPI Art. 29); the policy versions that decided
    it are kept as long as the topic exists.
    """
    n = settings.partitions
    specs = [TopicSpec(name, n) for name in topics.INPUT_TOPICS]
    specs.append(
        TopicSpec(
            topics.AUDIT,
            n,
            {"retention.ms": str(settings.audit_retention_ms), "cleanup.policy": "delete"},
        )
    )
    specs.append(TopicSpec(topics.DLQ, n, {"retention.ms": str(DLQ_RETENTION_MS)}))
    # Shadow differences are read while a policy change is weighed: a month, like the DLQ.
    specs.append(TopicSpec(topics.SHADOW, n, {"retention.ms": str(DLQ_RETENTION_MS)}))
    # One record per policy version, kept for good: compaction never drops a key's last record.
    specs.append(TopicSpec(topics.POLICIES, 1, {"cleanup.policy": "compact"}))
    kept, rolled = retention or {}, segment_roll or {}
    specs += [_shared_spec(s, n, kept.get(s), rolled.get(s)) for s in sorted(set(shared_topics))]
    # Each erasure notice and its receipt, the latest per shared topic and subject key, kept as
    # long as the audit records of the withdrawals that sent them, no longer.
    kept_as_audit = {"retention.ms": str(settings.audit_retention_ms)}
    specs.append(
        TopicSpec(topics.ERASURES, n, {"cleanup.policy": "compact,delete", **kept_as_audit})
    )
    return specs


def _shared_spec(
    name: str, partitions: int, retention: timedelta | None, roll: timedelta | None
) -> TopicSpec:
    """A shared topic: deleted, never compacted (``policy.erasure``), with its bound's parts."""
    config = {
        "cleanup.policy": "delete",
        "retention.ms": str(_ms(retention) or SHARED_RETENTION_MS),
        "segment.ms": str(_ms(roll) or SHARED_SEGMENT_MS),
        "file.delete.delay.ms": str(_ms(DELETE_DELAY)),
    }
    return TopicSpec(name, partitions, config)


def policy_topic_specs(settings: Settings, policy: Policy) -> list[TopicSpec]:
    """Every topic, each shared one with the retention and segment roll its routes declare."""
    return topic_specs(
        settings, policy.shared_topics(), policy.topic_retention(), topic_segment_roll(policy)
    )


def _ms(period: timedelta | None) -> int | None:
    return None if period is None else int(period.total_seconds() * 1000)


def ensure_topics(
    settings: Settings, specs: Sequence[TopicSpec], **client_overrides: Any
) -> list[str]:
    """Create the topics that do not exist yet; returns the physical names created."""
    admin = admin_client(settings, **client_overrides)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(
                name=settings.topic(spec.name),
                num_partitions=spec.partitions,
                replication_factor=settings.replication_factor,
                topic_configs=dict(spec.config),
            )
            for spec in specs
            if settings.topic(spec.name) not in existing
        ]
        created: list[str] = []
        for new in wanted:
            try:
                admin.create_topics([new])
                created.append(new.name)
            except TopicAlreadyExistsError:
                pass  # another worker created it between list and create
            except AuthorizationError:
                raise ConfigError(
                    f"topic {new.name} is missing, or not visible to this client's principal, "
                    "and it may not create it: under ACLs an admin creates the topics and their "
                    "ACLs first (`purposegate topics --create --acls`)"
                ) from None
        return created
    finally:
        admin.close()
