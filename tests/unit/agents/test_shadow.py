"""Shadow mode in the agent's per-record step: the policy in force decides and forwards exactly
as without a shadow; the shadow policy only adds a ``purposegate.shadow`` record when it decides
differently, counted by recipient, purpose and change; a shadow that fails never touches the
event."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
import yaml

from agents.runtime import Runtime
from broker import metrics
from flow.path import Outgoing, check
from policy import topics
from policy.compile import CompiledPolicy, compile_policy
from policy.loader import DEFAULT_POLICY, load_policy_text
from tests.unit.agents.pipeline_fakes import (
    DictStates,
    codec,
    encoded,
    message,
    records_of,
    runtime,
)
from tests.unit.policy.samples import TEST_KEYS
from wire import Decoded

Edit = Callable[[dict[str, Any]], None]


def unchanged(document: dict[str, Any]) -> None:
    """The policy in force itself."""


def cargo_without_phone(document: dict[str, Any]) -> None:
    for route in document["routes"]:
        if (route["recipient"], route["purpose"]) == ("septem-cargo", "fulfilment"):
            route["fields"].pop("phone", None)


@cache
def shadow_of(edit: Edit) -> CompiledPolicy:
    document = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    edit(document)
    return compile_policy(load_policy_text(yaml.safe_dump(document), "shadow"), TEST_KEYS)


class Broken:
    """A shadow whose every use raises (a bug in the shadow path)."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("shadow broke")


def processed(rt: Runtime, topic: str) -> list[Outgoing]:
    records, _ = records_of(
        rt, DictStates(), check(rt, message(topic, b"cust-1", encoded(topic), 1))
    )
    return records


def value_of(recipient: str, purpose: str, change: str) -> float:
    labels = {"recipient": recipient, "purpose": purpose, "change": change}
    return metrics.REGISTRY.get_sample_value("purposegate_shadow_differences_total", labels) or 0.0


# (shadow, input topic, expected differences (recipient, purpose, item, change))
ROWS = {
    # the same policy as shadow: nothing extra
    "same-policy": (lambda: shadow_of(unchanged), topics.ORDERS, []),
    # the shadow drops cargo's phone: one record naming that loss
    "cargo-without-phone": (lambda: shadow_of(cargo_without_phone), topics.ORDERS,
                            [("septem-cargo", "fulfilment", "phone", "lost")]),
    # a state change routes nothing: never a difference
    "state-change": (lambda: shadow_of(cargo_without_phone), topics.CONSENTS, []),
    # a broken shadow: the event goes on as without one
    "broken-shadow": (lambda: Broken(), topics.ORDERS, []),
}  # fmt: skip


@pytest.mark.parametrize(("shadow", "topic", "expected"), ROWS.values(), ids=ROWS.keys())
def test_when_a_shadow_policy_decides_too_then_only_differences_are_added(
    shadow: Callable[[], Any], topic: str, expected: list[tuple[str, str, str, str]]
) -> None:
    plain = processed(runtime(), topic)
    rt = dataclasses.replace(runtime(), shadow=shadow())
    before = {d: value_of(*d[:2], d[3]) for d in expected}

    records = processed(rt, topic)

    in_force = [r for r in records if r.topic != topics.SHADOW]
    assert in_force == plain  # the policy in force's records, unchanged
    shadowed = [r for r in records if r.topic == topics.SHADOW]
    assert len(shadowed) == (1 if expected else 0)
    if expected:
        decoded = codec().decode(shadowed[0].value or b"")
        assert isinstance(decoded, Decoded)
        got = [tuple(d.values()) for d in decoded.value["differences"]]
        assert got == expected
        assert decoded.value["shadow_policy_version"] == rt.shadow.policy_version  # type: ignore[union-attr]
        assert shadowed[0].key == b"cust-1"
    for d in expected:
        assert value_of(*d[:2], d[3]) == before[d] + 1
