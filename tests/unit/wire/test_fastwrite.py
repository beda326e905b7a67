"""The compiled writers (``wire.fastwrite``) write fastavro's bytes, or leave the record
to fastavro: for every wire schema, every output of a synthetic stream, and random values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.bench_engine import BENCH_KEYS
from policy.compile import compile_policy
from policy.loader import load_policy
from policy.state import SubjectState
from policy.step import step
from policy.validation import InputEvent, validate
from tests.unit.wire.samples import sample
from wire import Schema, SchemaStore
from wire.fastwrite import compile_writer, fast_body
from wire.sample import sample_lines

STORE = SchemaStore.load()
ALL_SCHEMAS = sorted(STORE, key=lambda s: s.name)


def fastavro_bytes(parsed: Any, value: Any) -> bytes | str:
    out = BytesIO()
    try:
        schemaless_writer(out, parsed, value)
    except Exception as exc:  # noqa: BLE001 - any refusal: the fast writer must not write it
        return f"refused ({type(exc).__name__})"
    return out.getvalue()


@pytest.mark.parametrize("schema", ALL_SCHEMAS, ids=lambda s: s.name)
def test_when_a_wire_schema_is_compiled_then_its_sample_is_fastavros(schema: Schema) -> None:
    # one row per wire schema: every one of them compiles, and its sample writes the same
    assert compile_writer(schema.source) is not None
    value = sample(schema)
    assert fast_body(schema, value) == fastavro_bytes(schema.parsed, value)


def test_when_a_stream_is_decided_then_every_output_is_fastavros() -> None:
    compiled = compile_policy(load_policy(), BENCH_KEYS)
    states: dict[str, SubjectState] = {}
    written = 0
    for line in sample_lines(seed=11, customers=40, events=1500):
        document = json.loads(line)
        checked = validate(document["topic"], document["value"], compiled, datetime.now(UTC))
        if not isinstance(checked, InputEvent):
            continue
        state = states.get(checked.customer_id, SubjectState.empty())
        states[checked.customer_id], decision = step(checked, state, compiled)
        for output in decision.outputs:
            schema = STORE.topic_schema(output.topic)
            assert schema is not None
            assert fast_body(schema, output.value) == fastavro_bytes(schema.parsed, output.value)
            written += 1
    assert written > 500


ITEM = {
    "type": "record",
    "name": "Item",
    "fields": [{"name": "n", "type": "int"}, {"name": "s", "type": ["string", "null"]}],
}
EVERY_TYPE = {
    "type": "record",
    "name": "Every",
    "namespace": "t",
    "fields": [
        {"name": "s", "type": "string"},
        {"name": "o", "type": ["null", "string"], "default": None},
        {"name": "i", "type": "int", "default": 7},
        {"name": "l", "type": ["null", "long"], "default": None},
        {"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "a", "type": {"type": "array", "items": ITEM}, "default": []},
        {"name": "again", "type": ["null", {"type": "array", "items": "t.Item"}], "default": None},
        {"name": "m", "type": {"type": "map", "values": "string"}, "default": {}},
        {"name": "b", "type": "bytes", "default": ""},
        {"name": "f", "type": "boolean", "default": False},
    ],
}
PARSED = parse_schema(EVERY_TYPE)
WRITE = compile_writer(EVERY_TYPE)
ANYTHING = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.binary(max_size=4)
    | st.floats(allow_nan=False) | st.datetimes(timezones=st.none() | st.just(UTC))
)  # fmt: skip
INT = st.integers(-(2**31), 2**31 - 1)
LONG = st.integers(-(2**63), 2**63 - 1)
ITEMS = st.lists(
    st.fixed_dictionaries({"n": INT}, optional={"s": st.none() | st.text(max_size=3)}),
    max_size=3,
)
TIMES = st.datetimes(
    min_value=datetime(1800, 1, 1),
    timezones=st.just(UTC) | st.just(timezone(timedelta(hours=9))),
)
FITTING = st.fixed_dictionaries(
    {"s": st.text(max_size=80), "t": TIMES | LONG},
    optional={
        "o": st.none() | st.text(max_size=5),
        "i": INT,
        "l": st.none() | LONG,
        "a": ITEMS,
        "again": st.none() | ITEMS,
        "m": st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=3),
        "b": st.binary(max_size=70),
        "f": st.booleans(),
        "extra": ANYTHING,
    },
)
FIELDS = [f["name"] for f in EVERY_TYPE["fields"]]  # type: ignore[index]
#: a fitting value with one field made anything (a wrong type, absent, out of range)
MISFIT = st.tuples(FITTING, st.sampled_from(FIELDS), ANYTHING | st.integers() | st.just(...)).map(
    lambda bad: {k: v for k, v in {**bad[0], bad[1]: bad[2]}.items() if v is not ...}
)
VALUES = FITTING | MISFIT


@settings(max_examples=600, deadline=None)
@given(VALUES)
def test_when_any_value_is_written_then_it_is_fastavros_or_left_to_fastavro(
    value: dict[str, Any],
) -> None:
    assert WRITE is not None
    try:
        fast: bytes | None = WRITE(value)
    except Exception:  # noqa: BLE001 - Unfit or a UnicodeEncodeError: fastavro decides
        fast = None
    if fast is not None:
        assert fast == fastavro_bytes(PARSED, value)


@pytest.mark.parametrize(
    "avro_type",
    [
        ["null", "string", "int"],  # a union of three
        {"type": "enum", "name": "E", "symbols": ["A"]},  # an enum
        "double",  # floats
        {"type": "int", "logicalType": "date"},  # another logical type
    ],
)
def test_when_a_schema_has_another_type_then_fastavro_writes_it(avro_type: Any) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": avro_type}]}
    assert compile_writer(schema) is None
