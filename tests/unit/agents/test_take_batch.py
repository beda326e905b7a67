"""The agent takes a fetched batch of input records at once (issue 23 item 2,
``agents.inputs.InputsAgent.take``, the consumer's ``input_sink``): each record checked once,
held by the merger and counted in Faust's records in progress (so a rebalance waits for it);
a record that cannot be checked (the registry down) stops the worker without being in progress;
a full merger holds the fetch loop back. On a real Faust app and table, never connected.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from faust.types import TP

import agents.inputs
from agents.inputs import InputsAgent, register
from agents.runtime import Runtime
from broker.app import build_app
from config.settings import Settings
from policy import topics
from tests.unit.agents.pipeline_fakes import codec, encoded
from tests.unit.policy.samples import compiled


def agent(**env: str) -> InputsAgent:
    settings = Settings.model_validate({"PURPOSEGATE_TOPIC_PREFIX": "take.", **env})
    app = build_app(settings)
    return register(app, Runtime(settings, compiled(), codec(), app=app))


def messages(agent: InputsAgent, count: int) -> list[Any]:
    tp = TP(agent.rt.names.physical(topics.ORDERS), 0)
    consumer: Any = agent.rt.app.consumer
    return [
        consumer._to_message(
            tp,
            ConsumerRecord(
                tp.topic, 0, offset, 1_700_000_000_000, 0, b"C-1", encoded(topics.ORDERS),
                None, 3, 10, (),
            ),
        )
        for offset in range(count)
    ]  # fmt: skip


def test_when_the_worker_consumer_is_built_then_the_agent_is_its_input_door() -> None:
    taking = agent()
    consumer: Any = taking.rt.app.consumer
    assert consumer.input_sink == taking.take
    assert consumer.input_topics == frozenset(
        taking.rt.names.physical(name) for name in topics.INPUT_TOPICS
    )


def test_when_a_batch_is_taken_then_each_record_is_held_and_in_progress() -> None:
    taking = agent()
    batch = messages(taking, 3)
    taking.rt.app.loop.run_until_complete(taking.take(batch))
    assert len(taking.merger) == 3
    assert all(m in taking.rt.app.consumer.unacked and m.refcount == 1 for m in batch)


def test_when_a_record_cannot_be_checked_then_the_worker_stops_and_it_is_not_in_progress(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taking = agent()
    batch = messages(taking, 3)
    real_check = agents.inputs.check

    def check(rt: Any, message: Any) -> Any:
        if message.offset == 1:
            raise ConnectionError("registry unreachable")
        return real_check(rt, message)

    monkeypatch.setattr(agents.inputs, "check", check)
    loop = taking.rt.app.loop
    loop.run_until_complete(taking.take(batch))
    assert isinstance(taking._read_failed, ConnectionError)  # the decider raises it: exit
    in_progress = taking.rt.app.consumer.unacked
    assert [m in in_progress for m in batch] == [True, False, False]
    loop.run_until_complete(taking.take(messages(taking, 2)))  # nothing more is taken
    assert len(taking.merger) == 1


def test_when_the_merger_is_full_then_the_fetch_loop_waits_for_room() -> None:
    taking = agent(PURPOSEGATE_MERGE_MAX_BUFFERED="2")
    loop = taking.rt.app.loop
    take = loop.create_task(taking.take(messages(taking, 3)))
    loop.run_until_complete(asyncio.sleep(0.05))
    assert not take.done()  # held back: the merger holds 3 of at most 2
    taking.merger.clear()  # the decider decided them
    taking._room.set()  # as its pop does
    loop.run_until_complete(take)
