"""The Avro codec: single-object framing, cross-reading with Apache's ``avro``, errors as values."""

from __future__ import annotations

import io
import json
from typing import Any

import avro.io
import avro.schema
import pytest

from tests.unit.wire.samples import INPUT_SAMPLES, sample
from wire import Codec, Decoded, DecodeError, EncodeError, Schema, SchemaStore
from wire.store import schema_from_json

STORE = SchemaStore.load()
CODEC = Codec(STORE)
ALL_SCHEMAS = sorted(STORE, key=lambda s: s.name)


def _apache(schema: Schema) -> avro.schema.Schema:
    return avro.schema.parse(json.dumps(schema.source))


def _apache_read(schema: Schema, body: bytes) -> Any:
    return avro.io.DatumReader(_apache(schema)).read(avro.io.BinaryDecoder(io.BytesIO(body)))


def _apache_write(schema: Schema, value: Any) -> bytes:
    out = io.BytesIO()
    avro.io.DatumWriter(_apache(schema)).write(value, avro.io.BinaryEncoder(out))
    return out.getvalue()


@pytest.mark.parametrize("schema", ALL_SCHEMAS, ids=lambda s: s.name)
def test_when_fastavro_writes_then_apache_avro_reads_the_same_value(schema: Schema) -> None:
    # one row per wire schema (inputs, every route's output, audit, DLQ), realistic values
    value = sample(schema)
    data = CODEC.encode(schema.name, value)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == schema.fingerprint
    assert _apache_read(schema, data[10:]) == value


@pytest.mark.parametrize("schema", ALL_SCHEMAS, ids=lambda s: s.name)
def test_when_apache_avro_writes_then_codec_decodes_it(schema: Schema) -> None:
    # the other direction: a producer using Apache's library, framed by hand
    value = sample(schema)
    data = b"\xc3\x01" + schema.fingerprint + _apache_write(schema, value)
    assert CODEC.decode(data) == Decoded(schema.name, value)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Avro spec test data (share/test/data/schema-tests.txt): empty record "foo"
        ({"type": "record", "name": "foo", "fields": []}, -4824392279771201922),
        # logical types are not part of the parsing canonical form (Java agrees; Apache's
        # Python package keeps {"type": "long"} and so differs - we follow the spec)
        (
            {
                "type": "record",
                "name": "foo",
                "fields": [
                    {"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}}
                ],
            },
            None,  # must equal the fingerprint of the same record with a plain long
        ),
    ],
)
def test_when_schema_fingerprinted_then_crc64_avro_little_endian(
    source: dict[str, Any], expected: int | None
) -> None:
    schema = schema_from_json(source, kind="input", path=STORE.get("OrderEvent").path)
    if expected is None:
        plain = {**source, "fields": [{"name": "t", "type": "long"}]}
        expected_bytes = schema_from_json(plain, kind="input", path=schema.path).fingerprint
        assert schema.fingerprint == expected_bytes
    else:
        assert schema.fingerprint == expected.to_bytes(8, "little", signed=True)


def _body_of(name: str) -> bytes:
    return CODEC.encode(name, INPUT_SAMPLES[name])


GOOD = _body_of("OrderEvent")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),  # an empty value
        (None, "empty"),  # a tombstone handed to decode
        (b'{"event_id": "e1"}', "unknown_format"),  # JSON where Avro was expected
        (b"\xc3\x01\x00\x01", "truncated"),  # header cut inside the fingerprint
        (b"\xc3\x01" + b"\xff" * 8 + GOOD[10:], "unknown_schema"),  # fingerprint of no schema
        (GOOD[:-7], "malformed"),  # body cut short
        (GOOD + b"\x00\x00", "malformed"),  # trailing bytes after a complete record
        (GOOD[:10] + b"\xff" * 40, "malformed"),  # garbage body (bad varints / lengths)
        (b"\x00\x00\x00\x00\x07" + GOOD[10:], "no_registry"),  # Confluent framing, no registry
        (b"\x00\x00\x01", "no_registry"),  # Confluent magic, too short, no registry either
    ],
)
def test_when_bytes_are_bad_then_decode_returns_error_value(data: bytes | None, kind: str) -> None:
    result = CODEC.decode(data)
    assert isinstance(result, DecodeError)
    assert result.error_kind == kind
    assert result.error  # readable
    assert "hanako" not in result.error and "山田" not in result.error  # no personal data


@pytest.mark.parametrize(
    ("change", "strict", "names"),
    [
        ({"email": None}, False, ["'email'"]),  # null in a non-null string field
        ({"total_jpy": "15400"}, False, ["'total_jpy'"]),  # a string where an int goes
        ({"status": None, "phone": 3}, False, ["'status'", "'phone'"]),  # two bad fields
        ({"nickname": "hana"}, True, ["'nickname'"]),  # unknown field, strict (produce)
        ({"items": [{"sku": "S"}]}, False, ["'items'"]),  # nested record incomplete
    ],
)
def test_when_value_does_not_fit_then_encode_error_names_fields_not_values(
    change: dict[str, Any], strict: bool, names: list[str]
) -> None:
    value = {**INPUT_SAMPLES["OrderEvent"], **change}
    with pytest.raises(EncodeError) as info:
        CODEC.encode("OrderEvent", value, strict=strict)
    message = str(info.value)
    for name in names:
        assert name in message
    assert "hanako" not in message and "山田" not in message and "15400" not in message


def test_when_field_missing_then_encode_error_says_missing() -> None:
    value = {k: v for k, v in INPUT_SAMPLES["OrderEvent"].items() if k != "order_id"}
    with pytest.raises(EncodeError, match="missing field 'order_id'"):
        CODEC.encode("OrderEvent", value)


def test_when_unknown_schema_name_then_encode_error() -> None:
    with pytest.raises(EncodeError, match="NoSuchRecord"):
        CODEC.encode("NoSuchRecord", {})
