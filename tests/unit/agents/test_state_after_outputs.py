"""The consent state reaches the broker only after the outputs decided before it
(``agents.state_after_outputs``): a run's changelog records are sent once every output of the
run and the changelog records of every run before it are delivered; a record not delivered
means no later state is ever sent, and the owners of what waits are failed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agents.state_after_outputs import ChangelogAfterOutputs
from flow.path import Outgoing

CHANGELOG = "purposegate-consent-state-changelog"


def write(owner: str) -> tuple[Outgoing, str]:
    return Outgoing(CHANGELOG, owner.encode(), b"state", [], partition=0), owner


class Broker:
    """The producer as the gate sees it: each send gives one batch future, answered later."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []
        self.batches: list[asyncio.Future[Any]] = []
        self.failed: list[tuple[list[str], BaseException | None]] = []

    async def send(self, writes: list[tuple[Outgoing, str]]) -> list[asyncio.Future[Any]]:
        self.sent.append([owner for _, owner in writes])
        batch: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.batches.append(batch)
        return [batch]

    def fail(self, owners: list[str], error: BaseException | None) -> None:
        self.failed.append((owners, error))


def future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_runs_changelog_waits_for_its_outputs() -> None:
    broker = Broker()
    gate = ChangelogAfterOutputs(broker.send, broker.fail)
    output, notice = future(), future()
    gate.after([output, notice], [write("a")])
    await settle()
    assert broker.sent == []
    output.set_result("metadata")
    await settle()
    assert broker.sent == [], "the erasure notice record is an output too"
    notice.set_result(True)
    await settle()
    assert broker.sent == [["a"]]


async def test_runs_go_in_order_and_the_ready_ones_behind_the_first_go_together() -> None:
    broker = Broker()
    gate = ChangelogAfterOutputs(broker.send, broker.fail)
    first, second, third = future(), future(), future()
    gate.after([first], [write("a")])
    gate.after([second], [write("b")])
    gate.after([third], [write("c")])
    second.set_result(None)
    await settle()
    assert broker.sent == [], "a later run never overtakes an earlier one"
    first.set_result(None)
    await settle()
    assert broker.sent == [["a", "b"]]
    third.set_result(None)
    await settle()
    assert broker.sent == [["a", "b"]], "the next send waits for the last one's delivery"
    broker.batches[0].set_result(None)
    await settle()
    assert broker.sent == [["a", "b"], ["c"]]
    assert gate.waiting() == 0


async def test_a_run_without_changelog_records_still_holds_the_runs_behind_it() -> None:
    broker = Broker()
    gate = ChangelogAfterOutputs(broker.send, broker.fail)
    first, second = future(), future()
    gate.after([first], [])
    gate.after([second], [write("b")])
    second.set_result(None)
    await settle()
    assert broker.sent == []
    first.set_result(None)
    await settle()
    assert broker.sent == [["b"]]


def refused(f: asyncio.Future[Any]) -> None:
    f.set_exception(RuntimeError("MessageSizeTooLargeError"))


def cancelled(f: asyncio.Future[Any]) -> None:
    f.cancel()


def notice_not_written(f: asyncio.Future[Any]) -> None:
    f.set_result(False)


@pytest.mark.parametrize(
    ("how", "error"),
    [(refused, RuntimeError), (cancelled, None), (notice_not_written, None)],
    ids=["refused", "producer-stopped", "notice-not-written"],
)
async def test_an_output_not_delivered_stops_every_later_state(how: Any, error: Any) -> None:
    broker = Broker()
    gate = ChangelogAfterOutputs(broker.send, broker.fail)
    first, second = future(), future()
    gate.after([first], [write("a")])
    gate.after([second], [write("b")])
    second.set_result(None)
    how(first)
    await settle()
    assert broker.sent == []
    assert gate.closed
    assert [owners for owners, _ in broker.failed] == [["a", "b"]]
    named = broker.failed[0][1]
    assert (type(named) if named is not None else None) is error
    gate.after([], [write("c")])
    await settle()
    assert broker.sent == [] and broker.failed[-1][0] == ["c"]


async def test_a_changelog_record_refused_stops_every_later_state() -> None:
    broker = Broker()
    gate = ChangelogAfterOutputs(broker.send, broker.fail)
    gate.after([], [write("a")])
    await settle()
    gate.after([], [write("b")])
    refused(broker.batches[0])
    await settle()
    assert broker.sent == [["a"]]
    assert [owners for owners, _ in broker.failed] == [["a"], ["b"]]


async def test_outputs_not_handed_over_close_it_at_once() -> None:
    broker = Broker()
    gate = ChangelogAfterOutputs(broker.send, broker.fail)
    pending = future()
    gate.after([pending], [write("a")])
    gate.close([write("b")])
    await settle()
    assert broker.sent == []
    assert [owners for owners, _ in broker.failed] == [["a", "b"]]
