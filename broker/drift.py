"""``purposegate topics --check``: where the broker's topics differ from what the policy wants.

``drift`` is pure: the wanted specs against what the broker said (``BrokerTopic``), one
readable line per difference. ``broker_topics`` asks the broker (partitions from the metadata,
the configuration keys the specs set from DescribeConfigs, defaults included).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from kafka.admin import ConfigResource, ConfigResourceType

from broker.admin import TopicSpec
from broker.clients import admin_client
from config.settings import Settings
from policy import topics
from policy.erasure import DEFAULT_CHECK_INTERVAL

_DAY_MS = 24 * 3600 * 1000
CHECK_INTERVAL: Final = "log.retention.check.interval.ms"


@dataclass(frozen=True)
class BrokerTopic:
    """One topic as the broker has it."""

    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)


def drift(
    settings: Settings, specs: Sequence[TopicSpec], broker: Mapping[str, BrokerTopic]
) -> list[str]:
    """One line per difference between the specs and the broker, in the specs' order; then the
    shared topics on the broker that the policy no longer writes (their records stay there).

    >>> spec = TopicSpec("shared.a.b", 3, {"retention.ms": "86400000"})
    >>> found = {"shared.a.b": BrokerTopic(3, {"retention.ms": "172800000"})}
    >>> print(*drift(Settings.model_construct(), [spec], found))
    shared.a.b: retention.ms is 172800000 (2 days) on the broker, the policy wants 86400000 (1 day)
    """
    lines: list[str] = []
    for spec in specs:
        name = settings.topic(spec.name)
        found = broker.get(name)
        if found is None:
            lines.append(f"{name}: missing on the broker (purposegate topics --create makes it)")
            continue
        if found.partitions != spec.partitions:
            lines.append(
                f"{name}: {found.partitions} partition(s) on the broker, the policy wants "
                f"{spec.partitions}"
            )
        lines += [
            f"{name}: {key} is {_shown(key, found.config.get(key))} on the broker, the policy "
            f"wants {_shown(key, value)}"
            for key, value in sorted(spec.config.items())
            if found.config.get(key) != value
        ]
    wanted = {settings.topic(spec.name) for spec in specs}
    shared = settings.topic(topics.SHARED_PREFIX)
    lines += [
        f"{name}: on the broker but written by no route of the policy (its records stay until "
        "its retention ends)"
        for name in sorted(broker)
        if name.startswith(shared) and name not in wanted
    ]
    return lines


def _shown(key: str, value: str | None) -> str:
    if value is None:
        return "not set"
    if key in ("retention.ms", "segment.ms") and value.isdigit() and int(value) % _DAY_MS == 0:
        days = int(value) // _DAY_MS
        return f"{value} ({days} day{'' if days == 1 else 's'})"
    return value


def broker_topics(
    settings: Settings, specs: Sequence[TopicSpec], **client_overrides: Any
) -> dict[str, BrokerTopic]:
    """The broker's view of the specs' topics and of every shared topic under the prefix."""
    admin = admin_client(settings, **client_overrides)
    try:
        shared = settings.topic(topics.SHARED_PREFIX)
        wanted = {settings.topic(spec.name) for spec in specs}
        present = [n for n in admin.list_topics() if n in wanted or n.startswith(shared)]
        partitions = {str(t["name"]): len(t["partitions"]) for t in admin.describe_topics(present)}
        keys = {key for spec in specs for key in spec.config}
        configs = _configs(admin, present, keys)
        return {
            name: BrokerTopic(count, configs.get(name, {})) for name, count in partitions.items()
        }
    finally:
        admin.close()


#: The configuration ``topics --create`` sets again on an existing topic that drifted: what
#: bounds how long a record stays (``policy.erasure``). Partition counts are never changed.
APPLIED_KEYS: Final = ("cleanup.policy", "retention.ms", "segment.ms", "file.delete.delay.ms")


def apply_retention(
    settings: Settings,
    specs: Sequence[TopicSpec],
    broker: Mapping[str, BrokerTopic],
    **client_overrides: Any,
) -> list[str]:
    """Set ``APPLIED_KEYS`` on every existing topic whose value differs from its spec's (an
    incremental change: nothing else of the topic's configuration is touched); one line per
    key changed. Partition counts are never changed (keys would move): ``drift`` reports them."""
    changes = {
        name: wanted
        for spec in specs
        if (name := settings.topic(spec.name)) in broker
        and (
            wanted := {
                key: value
                for key, value in spec.config.items()
                if key in APPLIED_KEYS and broker[name].config.get(key) != value
            }
        )
    }
    if not changes:
        return []
    admin = admin_client(settings, **client_overrides)
    try:
        admin.alter_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, name, configs=dict(wanted))
                for name, wanted in changes.items()
            ]
        )
    finally:
        admin.close()
    return [
        f"{name}: {key} set to {_shown(key, value)} (was "
        f"{_shown(key, broker[name].config.get(key))})"
        for name, wanted in changes.items()
        for key, value in sorted(wanted.items())
    ]


def broker_check_interval(settings: Settings, **client_overrides: Any) -> timedelta:
    """The broker's ``log.retention.check.interval.ms`` (the largest among the brokers), which
    the physical bound of every shared topic adds (``policy.erasure.physical_bound``)."""
    admin = admin_client(settings, **client_overrides)
    try:
        ids = [broker["broker_id"] for broker in admin.describe_cluster()["brokers"]]
        resources = [ConfigResource(ConfigResourceType.BROKER, str(i)) for i in ids]
        found = admin.describe_configs(resources, config_filter="all").get("broker", {})
    finally:
        admin.close()
    values = [
        int(entries[CHECK_INTERVAL]["value"])
        for entries in found.values()
        if CHECK_INTERVAL in entries
    ]
    return timedelta(milliseconds=max(values)) if values else DEFAULT_CHECK_INTERVAL


def _configs(admin: Any, names: Iterable[str], keys: set[str]) -> dict[str, dict[str, str]]:
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    if not resources:
        return {}
    found = admin.describe_configs(resources, config_filter="all").get("topic", {})
    return {
        str(name): {k: str(v["value"]) for k, v in entries.items() if k in keys}
        for name, entries in found.items()
    }
