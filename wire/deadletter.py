"""The ``purposegate.dlq`` value (``schemas/dlq/DeadLetter.avsc``), one builder for every cause:
bytes the codec cannot read, records validation rejects, faults the pipeline itself finds."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol

from policy.errors import PipelineErrorKind


class Fault(Protocol):
    """Why a record goes to the DLQ: ``DecodeError``, ``Invalid`` or ``PipelineFault``."""

    @property
    def error(self) -> str: ...

    @property
    def error_kind(self) -> str: ...


class PipelineFault(NamedTuple):
    """A fault the pipeline finds around a record that decoded and validated."""

    error: str
    error_kind: PipelineErrorKind


def dead_letter_record(
    fault: Fault,
    source_topic: str,
    partition: int | None,
    offset: int | None,
    raw: bytes | None,
    received_time: datetime | None = None,
) -> dict[str, Any]:
    """The DLQ value; ``received_time`` only when given (file runs have none).

    >>> from policy.validation import Invalid
    >>> record = dead_letter_record(Invalid("orders: bad", "wrong_type"), "orders", 0, 7, b"x")
    >>> record["error_kind"], record["offset"], "received_time" in record
    ('wrong_type', 7, False)
    """
    record: dict[str, Any] = {
        "source_topic": source_topic,
        "partition": partition,
        "offset": offset,
        "error": fault.error,
        "error_kind": fault.error_kind,
        "raw": raw or b"",
    }
    if received_time is not None:
        record["received_time"] = received_time
    return record
