"""Logical (contract) ↔ physical (on the broker) topic names.

``Settings.topic()`` is the one place that adds ``PURPOSEGATE_TOPIC_PREFIX``; ``logical_topic``
the one place that takes it off. ``TopicNames`` remembers both ways for the worker's hot path.
"""

from __future__ import annotations

from config.settings import Settings


def logical_topic(physical: str, prefix: str) -> str:
    """The contract's name of a topic on the broker.

    >>> logical_topic("t1.orders", "t1.")
    'orders'
    >>> logical_topic("orders", "")
    'orders'
    """
    return physical[len(prefix) :] if prefix and physical.startswith(prefix) else physical


class TopicNames:
    """Both ways between logical and physical names, each computed once per name."""

    __slots__ = ("_logical", "_physical", "_settings")

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._physical: dict[str, str] = {}
        self._logical: dict[str, str] = {}

    def physical(self, logical: str) -> str:
        name = self._physical.get(logical)
        if name is None:
            name = self._physical[logical] = self._settings.topic(logical)
        return name

    def logical(self, physical: str) -> str:
        name = self._logical.get(physical)
        if name is None:
            name = self._logical[physical] = logical_topic(physical, self._settings.topic_prefix)
        return name
