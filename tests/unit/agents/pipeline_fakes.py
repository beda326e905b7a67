"""The worker's per-record pipeline without Faust or a broker: a runtime, a codec, encoded
input records, fake messages and a consent table as a dict."""

from __future__ import annotations

from collections.abc import Callable, ItemsView
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from agents.runtime import Runtime
from broker import metrics
from config.settings import Settings
from flow.path import Decider, Outgoing, Read, States, records_for
from policy import topics
from policy.loader import load_policy
from policy.state import EMPTY, SubjectState
from tests.unit.policy.samples import (
    compiled,
    consent,
    entry,
    inquiry,
    order,
    request,
)
from wire import Codec
from wire.generate import load_checked
from wire.topic_schemas import wire_schemas

VALID: dict[str, Callable[[], dict[str, Any]]] = {
    topics.ORDERS: order,
    topics.INQUIRIES: inquiry,
    topics.CAMPAIGN_ENTRIES: entry,
    topics.CONSENTS: lambda: consent("marketing", True),
    topics.SUBJECT_REQUESTS: lambda: request("suspend_use", True),
}


@cache
def codec() -> Codec:
    store = load_checked(load_policy())
    built = Codec(store, wire_format="single-object")
    built.bind_topics(wire_schemas(load_policy(), store))
    return built


def encoded(topic: str) -> bytes:
    return codec().encode(compiled().policy.inputs[topic].record, VALID[topic]())


@dataclass(frozen=True)
class FakeMessage:
    """What the pipeline reads of Faust's ``Message``."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@cache
def runtime() -> Runtime:
    prefix = "fuzz."
    test_settings = Settings.model_validate({"PURPOSEGATE_TOPIC_PREFIX": prefix})
    # ``check`` and ``records_for`` (``flow.path``) never touch the app: only ``send`` does.
    return Runtime(test_settings, compiled(), codec(), app=cast(Any, None))


def message(topic: str, key: bytes | None, value: bytes, offset: int) -> FakeMessage:
    return FakeMessage(f"fuzz.{topic}", offset % 6, offset, key, value)


class DictStates:
    """The consent table as a dict of the bytes it holds, as the flow's ``States`` (``put``
    writes at once, no changelog)."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def items(self) -> ItemsView[bytes, bytes]:
        return self.data.items()

    def get(self, partition: int, customer_id: str) -> SubjectState:
        stored = self.data.get(customer_id.encode())
        return SubjectState.from_json(stored) if stored else EMPTY

    def put(self, partition: int, customer_id: str, state: SubjectState | None) -> None:
        if state is None:
            self.data.pop(customer_id.encode(), None)
        else:
            self.data[customer_id.encode()] = state.to_json().encode()

    def horizon(self, partition: int) -> datetime | None:
        return None

    def put_horizon(self, partition: int, horizon: datetime) -> None:
        raise AssertionError("nothing is forgotten in these streams")


def records_of(
    rt: Runtime, states: States[Any], read: Read, stream_time: datetime | None = None
) -> tuple[list[Outgoing], list[Any]]:
    """``flow.path.records_for`` as the agent calls it: the runtime's policy and shadow, the
    decision counted in the worker's metrics."""
    return records_for(rt, Decider(rt.compiled, states, rt.shadow), read, stream_time, metrics)


class FakeTable:
    """What ``FaustStates`` uses of a Faust table: its data, partitions and changelog."""

    partitions = 3

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.changelog: list[tuple[int, bytes, bytes | None]] = []

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    class changelog_topic:  # noqa: N801 - Faust's attribute name
        @staticmethod
        def get_topic_name() -> str:
            return "app-consent-state-changelog"
