"""Dead-letter records: one builder for codec, validation and pipeline faults."""

from __future__ import annotations

from datetime import UTC, datetime

from policy.validation import Invalid, validate
from tests.unit.policy.samples import NOW, compiled, order
from wire import Codec, Decoded, DecodeError, SchemaStore
from wire.deadletter import dead_letter_record

CODEC = Codec(SchemaStore.load())


def test_when_decode_error_then_dlq_record_fits_dead_letter_schema() -> None:
    error = CODEC.decode(b"garbage")
    assert isinstance(error, DecodeError)
    record = dead_letter_record(error, "orders", 2, 99, b"garbage", datetime.now(UTC))
    decoded = CODEC.decode(CODEC.encode("DeadLetter", record))
    assert isinstance(decoded, Decoded)
    assert decoded.value["error_kind"] == "unknown_format"
    assert decoded.value["raw"] == b"garbage"


def test_when_invalid_becomes_dlq_record_then_it_has_the_contract_fields() -> None:
    result = validate("orders", order(status="lost"), compiled(), NOW)
    assert isinstance(result, Invalid)
    record = dead_letter_record(result, "orders", None, 7, b"{}")
    assert record == {
        "source_topic": "orders",
        "partition": None,
        "offset": 7,
        "error": result.error,
        "error_kind": "unknown_enum",
        "raw": b"{}",
    }
