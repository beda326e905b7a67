"""A schema registry that does not answer is an outage, not bad data: the record it could not
decode must not go to the DLQ (it is good, and would be lost to its consumers); ``check``
raises, the agent stops the worker without acking it, and the next worker reads it again."""

from __future__ import annotations

from typing import Any

import pytest

from flow.path import Outgoing, check
from policy import topics
from tests.unit.agents.pipeline_fakes import encoded, message, runtime
from wire.registry import SchemaRegistryError, SchemaRegistryUnavailableError


def failing(error: Exception) -> Any:
    def decode(data: bytes | None) -> Any:
        raise error

    return decode


def test_when_the_registry_does_not_answer_then_check_raises_and_nothing_goes_to_the_dlq(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rt = runtime()  # its codec is shared by other tests: patched for this test only
    monkeypatch.setattr(rt.codec, "decode", failing(SchemaRegistryUnavailableError("down")))
    with pytest.raises(SchemaRegistryUnavailableError):
        check(rt, message(topics.ORDERS, b"cust-1", encoded(topics.ORDERS), 1))


@pytest.mark.parametrize(
    "error",
    [
        SchemaRegistryError("refused"),  # the registry answered: the record is the problem
        ValueError("a bug"),  # anything else: an internal error, in the DLQ, the stream goes on
    ],
    ids=["registry-refused", "internal-error"],
)
def test_when_decoding_fails_otherwise_then_the_record_goes_to_the_dlq(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime()
    monkeypatch.setattr(rt.codec, "decode", failing(error))
    read = check(rt, message(topics.ORDERS, b"cust-1", encoded(topics.ORDERS), 1))
    assert isinstance(read.checked, Outgoing) and read.checked.topic == topics.DLQ
