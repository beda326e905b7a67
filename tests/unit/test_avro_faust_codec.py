"""The Faust codecs: thin wrappers over Codec; bad bytes are values, never exceptions."""

from __future__ import annotations

from typing import Any

import pytest
from faust.serializers import codecs

from streams.avro import Codec, Decoded, DecodeError, EncodeError, SchemaStore
from streams.codec_faust import AUDIT_CODEC, AVRO_CODEC, DLQ_CODEC, register_faust_codecs
from tests.unit.avro_samples import INPUT_SAMPLES, REALISTIC, sample

STORE = SchemaStore.load()
CODEC = Codec(STORE)
register_faust_codecs(CODEC)
ORDER = INPUT_SAMPLES["OrderEvent"]


@pytest.mark.parametrize(
    ("codec_name", "obj", "name"),
    [
        (AVRO_CODEC, ("OrderEvent", ORDER), "OrderEvent"),  # (schema, value) for any schema
        (AVRO_CODEC, Decoded("OrderEvent", ORDER), "OrderEvent"),  # a Decoded passes back
        (AUDIT_CODEC, sample(STORE.get("AuditRecord")), "AuditRecord"),  # bound to the audit
        (DLQ_CODEC, sample(STORE.get("DeadLetter")), "DeadLetter"),  # bound to the DLQ
        (AVRO_CODEC, CODEC.encode("OrderEvent", ORDER), "OrderEvent"),  # bytes pass through
    ],
)
def test_when_faust_codec_dumps_then_loads_gives_decoded(
    codec_name: str, obj: Any, name: str
) -> None:
    codec = codecs.get_codec(codec_name)
    loaded = codec.loads(codec.dumps(obj))
    assert isinstance(loaded, Decoded)
    assert loaded.name == name


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # empty
        b"\x00\x01",  # Confluent magic, no registry
        b"\xc3\x01short",  # truncated single-object header
        b"plain text",  # not Avro
    ],
)
def test_when_faust_codec_loads_bad_bytes_then_error_value_with_dlq_record(raw: bytes) -> None:
    loaded = codecs.get_codec(AVRO_CODEC).loads(raw)
    assert isinstance(loaded, DecodeError)
    dlq = loaded.dlq_record("orders", 0, 5, raw)
    assert CODEC.decode(CODEC.encode("DeadLetter", dlq)).value["raw"] == raw  # type: ignore[union-attr]


def test_when_faust_codec_dumps_a_dict_without_schema_then_encode_error() -> None:
    with pytest.raises(EncodeError):
        codecs.get_codec(AVRO_CODEC).dumps({"event_id": REALISTIC["event_id"]})


def test_when_faust_clones_codec_then_binding_is_kept() -> None:
    clone = codecs.get_codec(DLQ_CODEC).clone()
    assert clone.dumps(sample(STORE.get("DeadLetter")))[:2] == b"\xc3\x01"
