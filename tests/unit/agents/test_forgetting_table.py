"""The worker's consent table forgets as ``dry-run`` does (``policy.forgetting``): the key is
deleted with a tombstone on the changelog, the partition's horizon is kept in the table (so it
survives a restart), a late grant older than the forgotten withdrawal opens nothing, and the
subjects gauge does not count the horizon keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from agents.consent_table import HORIZON_KEY, FaustStates
from flow.path import Outgoing, check
from policy import topics
from tests.unit.agents.pipeline_fakes import FakeMessage, FakeTable, codec, records_of, runtime
from tests.unit.policy.samples import T0 as NOW_ISH
from tests.unit.policy.samples import compiled, consent, inquiry, order

DAY = timedelta(days=1)
T0 = NOW_ISH - 3 * 365 * DAY
W = T0 + 10 * DAY
KEY = b"cust-1"
PARTITION = 2  # every input of one customer is on one partition number (co-partitioning)


def message(topic: str, value: bytes, offset: int) -> FakeMessage:
    return FakeMessage(f"fuzz.{topic}", PARTITION, offset, KEY, value)


STREAM = [
    (topics.CONSENTS, consent("marketing", True, T0)),
    (topics.CONSENTS, consent("marketing", False, W)),
    (topics.INQUIRIES, inquiry(event_time=W + compiled().forget_after + DAY, kind="question")),
    (topics.CONSENTS, consent("marketing", True, W - DAY, event_id="con-late")),  # the late grant
    (topics.ORDERS, order(event_time=W + compiled().forget_after + 2 * DAY)),
]


def decide_all(states: FaustStates) -> list[list[Outgoing]]:
    out = []
    for offset, (topic, value) in enumerate(STREAM):
        record = codec().encode(compiled().policy.inputs[topic].record, value)
        read = check(runtime(), message(topic, record, offset))
        records, _ = records_of(runtime(), states, read)
        # as the agent does, after the outputs: the changelog records, handed to the producer
        for record, _ in states.take_deferred():
            assert record.topic == "app-consent-state-changelog"
            assert record.partition is not None
            states.table.changelog.append((record.partition, record.key, record.value))
        out.append(records)
    return out


def audit(records: list[Outgoing]) -> dict[str, Any]:
    (record,) = [r for r in records if r.topic == topics.AUDIT]
    decoded = codec().decode(record.value)
    assert not isinstance(decoded, Exception) and hasattr(decoded, "value")
    value: dict[str, Any] = decoded.value  # type: ignore[union-attr]
    return value


def test_when_a_subject_is_forgotten_then_its_key_is_tombstoned_and_the_horizon_kept() -> None:
    table = FakeTable()
    states = FaustStates(table)
    out = decide_all(states)
    partition = PARTITION
    horizon_key = HORIZON_KEY % partition
    # after the question: the horizon written first (the day after W), then the key's tombstone
    writes = table.changelog[2:4]
    assert writes == [
        (partition, horizon_key, (W.replace(hour=0, minute=0, second=0, microsecond=0) + DAY)
         .isoformat().encode()),
        (partition, KEY, None),
    ]  # fmt: skip
    assert audit(out[3])["state_change"].startswith("consent marketing granted: refused")
    (mail,) = [d for d in audit(out[4])["decisions"] if d["purpose"] == "marketing"]
    assert mail["reason"] == "no_consent"
    # the order fed product development topics: the subject is back, the horizon is not counted
    assert KEY in table.data and horizon_key in table.data
    assert states.subjects() == 1


def test_when_the_table_is_restored_then_the_horizon_still_refuses_the_late_grant() -> None:
    table = FakeTable()
    decide_all(FaustStates(table))
    restored = FakeTable()  # a new worker: the table rebuilt from the changelog's last values
    for _, key, value in table.changelog:
        if value is None:
            restored.data.pop(key, None)
        else:
            restored.data[key] = value
    restored.data.pop(KEY)  # only the horizon is left of this subject's partition
    grant = codec().encode("ConsentChange", consent("marketing", True, W - 2 * DAY))
    read = check(runtime(), message(topics.CONSENTS, grant, 9))
    records, _ = records_of(runtime(), FaustStates(restored), read)
    assert audit(records)["state_change"].startswith("consent marketing granted: refused")
    assert KEY not in restored.data
