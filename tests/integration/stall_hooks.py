"""Test-only launcher of ``purposegate worker`` with hooks that reproduce the post-rebalance
stall (``python -m tests.integration.stall_hooks``; nothing of this is in the product). Without
any of these variables it is ``purposegate worker``.

- ``PURPOSEGATE_TEST_SEEK_DELAY_S``: every committed-offset lookup of the consumer (one
  OffsetFetch per partition in ``seek_to_committed``) waits this long first, as a slow broker
  or a loaded machine makes it: it widens the window between the resume of the input
  partitions and the clearing of the agents' queues in Faust's recovery.
- ``PURPOSEGATE_TEST_SEND_DELAY_S``: every producer send waits this long first, per record when
  the agent hands over several (a slow broker):
  the agents then fall behind the fetcher and records wait in their queues, as they do when a
  worker catches up a backlog on a busy machine.
- ``PURPOSEGATE_TEST_RECOVERY=faust``: the app builds Faust's own ``Recovery`` instead of
  ``broker.recovery.SeekFirstRecovery`` and Faust's own consumer instead of
  ``broker.consumer.SnapshotConsumer`` (the fix switched off), and Faust's own memory
  store (no bulk restore: Faust's recovery reads the changelog); ``=no-rewind``: the
  fix without its rewind of the input partitions never committed; ``=no-landing``: the fix
  without its wait for a fetch in flight before the seek.
- ``PURPOSEGATE_TEST_LATE_FETCH_S``: a fetch that meets a rebalance (aiokafka's
  ``fetched_records`` waits for the next assignment) hands its records over this long after the
  new assignment, as a loaded consumer thread makes it: with a slow seek it lands in the middle
  of the recovery's seek (``broker.consumer``: a fetch that outlives a rebalance).
- ``PURPOSEGATE_TEST_DROP_PARTITION=<input topic>:<partition>``: every record aiokafka fetches
  of that input partition is dropped before the worker sees it (its position moves past
  them, nothing is acked), which is what Faust's recovery did to the records it cleared: the
  partition holds records the worker will never process, the shape of any stall.
- ``PURPOSEGATE_TEST_TRACE_FETCHES=1``: log when aiokafka hands over records of partitions
  that were not asked for (Faust drops them).
- ``PURPOSEGATE_TEST_PROBE_S``: log Faust's view of every assigned input partition and the
  queue sizes every so many seconds (offsets and counts only, never record data).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import sys
import threading
import time
from typing import Any, Final

from aiokafka import AIOKafkaConsumer
from aiokafka.consumer.fetcher import Fetcher
from aiokafka.consumer.subscription_state import SubscriptionState
from faust.stores import STORES
from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import Consumer, Producer

from agents.sending import BatchSender
from broker import consumer, recovery
from broker.names import logical_topic
from broker.watchdog import consumer_view
from cli import worker
from cli.main import main
from config.settings import REPO_ROOT
from policy.topics import INPUT_TOPICS

#: The command line of this launcher, for ``WorkerProcess.start(command=...)``.
COMMAND: Final = (
    str(REPO_ROOT / ".venv" / "bin" / "python"),
    "-m",
    "tests.integration.stall_hooks",
)

log = logging.getLogger("purposegate.test.probe")


def _slow_committed(delay_s: float) -> None:
    original = AIOKafkaConsumer.committed

    async def committed(self: Any, partition: Any) -> Any:
        await asyncio.sleep(delay_s)
        return await original(self, partition)

    AIOKafkaConsumer.committed = committed


def _slow_send(delay_s: float) -> None:
    original = Producer.send

    async def send(self: Any, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(delay_s)
        return await original(self, *args, **kwargs)

    Producer.send = send  # type: ignore[method-assign]
    # The agent hands its records over in bulk (agents/sending.py): the same wait per record.
    original_bulk = BatchSender.send

    async def send_bulk(self: Any, records: Any, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(delay_s * len(records))
        return await original_bulk(self, records, *args, **kwargs)

    BatchSender.send = send_bulk  # type: ignore[method-assign]


def _late_fetch(delay_s: float) -> None:
    """aiokafka's ``fetched_records``, when it waits for a new assignment, goes on ``delay_s``
    after it (the coordinator's own waits for an assignment are untouched); a fetch waiting for
    records when a rebalance begins is woken, so that it meets it."""
    fetching: contextvars.ContextVar[bool] = contextvars.ContextVar("fetching", default=False)
    original_fetch = Fetcher.fetched_records
    original_wait = SubscriptionState.wait_for_assignment

    async def fetched_records(self: Any, *args: Any, **kwargs: Any) -> Any:
        token = fetching.set(True)
        try:
            return await original_fetch(self, *args, **kwargs)
        finally:
            fetching.reset(token)

    def wait_for_assignment(self: Any) -> Any:
        assigned = original_wait(self)
        if not fetching.get():
            return assigned

        async def late() -> None:
            await assigned
            log.info("probe: a fetch met a rebalance; it goes on in %.1f s", delay_s)
            await asyncio.sleep(delay_s)

        return asyncio.ensure_future(late())

    original_begin = SubscriptionState.begin_reassignment

    def begin_reassignment(self: Any) -> None:
        # a fetch waiting for records wakes up now (as new records would wake it) and meets
        # the rebalance, instead of timing out first
        original_begin(self)
        for waiter in getattr(self, "_fetch_waiters", ()):
            if not waiter.done():
                waiter.set_result(None)

    Fetcher.fetched_records = fetched_records
    SubscriptionState.wait_for_assignment = wait_for_assignment
    SubscriptionState.begin_reassignment = begin_reassignment


def _drop_partition(which: str) -> None:
    """Drop every fetched record of input partition ``which`` (``orders:0``)."""
    topic, _, number = which.rpartition(":")
    if topic not in INPUT_TOPICS or not number.isdigit():
        raise SystemExit(f"PURPOSEGATE_TEST_DROP_PARTITION: not <input topic>:<partition>: {which}")
    original = Fetcher.fetched_records

    prefix = os.environ.get("PURPOSEGATE_TOPIC_PREFIX", "")

    def dropped(tp: Any) -> bool:
        return tp.partition == int(number) and logical_topic(tp.topic, prefix) == topic

    async def fetched_records(self: Any, *args: Any, **kwargs: Any) -> Any:
        drained = await original(self, *args, **kwargs)
        for tp in [tp for tp in drained if dropped(tp)]:
            log.info("probe: %d fetched record(s) of a dropped partition", len(drained.pop(tp)))
        return drained

    Fetcher.fetched_records = fetched_records


def _trace_fetches() -> None:
    """Log every aiokafka ``fetched_records`` that returns records of partitions outside the
    set it was given (an empty set reads as "all partitions")."""
    original = Fetcher.fetched_records

    async def fetched_records(self: Any, partitions: Any, *args: Any, **kwargs: Any) -> Any:
        drained = await original(self, partitions, *args, **kwargs)
        outside = [tp for tp in drained if tp not in partitions]
        if outside:
            log.info(
                "probe fetched_records: %d partition(s) asked for at return, records of %d "
                "other partition(s) handed over (%d records)",
                len(partitions),
                len(outside),
                sum(len(drained[tp]) for tp in outside),
            )
        return drained

    Fetcher.fetched_records = fetched_records


def _recovery(which: str) -> None:
    """``faust``: Faust's own Recovery (no fix); ``no-rewind``: the fix without the rewind of
    never-committed input partitions (one half of it, to show that both halves are needed)."""
    if which == "faust":  # both halves of the fix off: the recovery and the copied active set
        recovery.TableManager.recovery_class = Recovery
        consumer.Transport.Consumer = Consumer
        # and Faust's own memory store: its recovery reads the whole changelog, as upstream
        STORES.aliases["bulkmemory"] = "faust.stores.memory:Store"
    elif which == "no-rewind":

        async def seek_committed_only(self: Any, consumer: Any, inputs: Any) -> None:
            timeout = self.app.conf.broker_request_timeout
            await self._wait(consumer.perform_seek(), timeout=timeout)

        recovery.SeekFirstRecovery._seek_inputs = seek_committed_only  # type: ignore[method-assign]
    elif which == "no-landing":

        async def seek_at_once(self: Any, consumer: Any, inputs: Any) -> None:
            return None

        recovery.SeekFirstRecovery._fetch_landed = seek_at_once  # type: ignore[method-assign]
    elif which:
        raise SystemExit(f"PURPOSEGATE_TEST_RECOVERY: unknown {which!r}")


def probe_lines(app: Any) -> list[str]:
    """Faust's view of each assigned input partition, then the queues and flow flags."""
    consumer = app.consumer
    physical = {t for t in (tp.topic for tp in consumer.assignment()) if t.endswith(INPUT_TOPICS)}
    lines = [
        f"{tp.topic}[{tp.partition}] {consumer_view(app, tp.topic, tp.partition)}"
        for tp in sorted(consumer.assignment())
        if tp.topic in physical
    ]
    lines.append(
        f"flow_active={consumer.flow_active} flow_control_active={app.flow_control.is_active()} "
        f"rebalancing={app.rebalancing} in_recovery={app.in_recovery}"
    )
    return lines


def _probe(interval_s: float) -> None:
    """A thread that logs :func:`probe_lines` (it reads Faust's state racily: a debug aid)."""
    build = worker.build_app  # type: ignore[attr-defined]

    def build_app(settings: Any) -> Any:
        app = build(settings)

        def loop() -> None:
            while True:
                time.sleep(interval_s)
                try:
                    for line in probe_lines(app):
                        log.info("probe %s", line)
                except Exception as exc:  # noqa: BLE001 - a probe never stops the worker
                    log.info("probe failed: %r", exc)

        threading.Thread(target=loop, name="purposegate-test-probe", daemon=True).start()
        return app

    worker.build_app = build_app  # type: ignore[attr-defined]


def install() -> None:
    delay = float(os.environ.get("PURPOSEGATE_TEST_SEEK_DELAY_S") or 0)
    if delay > 0:
        _slow_committed(delay)
    send_delay = float(os.environ.get("PURPOSEGATE_TEST_SEND_DELAY_S") or 0)
    if send_delay > 0:
        _slow_send(send_delay)
    _recovery(os.environ.get("PURPOSEGATE_TEST_RECOVERY", ""))
    late_fetch = float(os.environ.get("PURPOSEGATE_TEST_LATE_FETCH_S") or 0)
    if late_fetch > 0:
        _late_fetch(late_fetch)
    drop = os.environ.get("PURPOSEGATE_TEST_DROP_PARTITION")
    if drop:
        _drop_partition(drop)
    if os.environ.get("PURPOSEGATE_TEST_TRACE_FETCHES") == "1":
        _trace_fetches()
    probe = float(os.environ.get("PURPOSEGATE_TEST_PROBE_S") or 0)
    if probe > 0:
        _probe(probe)


if __name__ == "__main__":
    install()
    sys.exit(main(["worker", *sys.argv[1:]]))
