"""Faust codecs over ``streams.avro.Codec``: thin, so agents and tools share one wire format.

The pipeline's agents read raw bytes and call ``Codec.decode`` themselves (Faust acks and skips
an event whose value fails to deserialize, so decoding must happen inside the agent). These
codecs are for Faust topics declared with ``value_serializer=<name>`` elsewhere (tests, tools,
downstream Faust apps):

* ``loads`` never raises on bad bytes: it returns ``Decoded(name, value)`` or a ``DecodeError``
  value, whose ``dlq_record(source_topic, partition, offset, raw)`` is the DLQ entry;
* ``dumps`` takes ``(schema_name, value)`` (or a ``Decoded``), a plain mapping when the codec
  was registered for one schema, or bytes already encoded.

>>> from streams.avro import Codec, SchemaStore
>>> names = register_faust_codecs(Codec(SchemaStore.load()))
>>> sorted(names)
['purposegate-audit', 'purposegate-avro', 'purposegate-dlq']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from faust.serializers import codecs

from streams.avro import Codec, Decoded, DecodeError, EncodeError
from streams.avro.store import AUDIT_RECORD, DLQ_RECORD

#: Codec name for any schema of ``schemas/`` (values are ``(schema_name, dict)``).
AVRO_CODEC: Final = "purposegate-avro"
AUDIT_CODEC: Final = "purposegate-audit"
DLQ_CODEC: Final = "purposegate-dlq"


class AvroFaustCodec(codecs.Codec):
    """A Faust codec bound to one ``Codec`` and, optionally, one schema."""

    def __init__(
        self,
        children: tuple[Any, ...] | None = None,
        *,
        codec: Codec,
        schema_name: str | None = None,
    ) -> None:
        # Faust clones codecs with type(self)(children=..., **kwargs): keep both in kwargs.
        super().__init__(children, codec=codec, schema_name=schema_name)
        self.codec = codec
        self.schema_name = schema_name

    def _dumps(self, obj: Any) -> bytes:
        if isinstance(obj, bytes | bytearray):
            return bytes(obj)
        if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], str):
            name, value = obj
            return self.codec.encode(name, value)
        if isinstance(obj, Mapping) and self.schema_name is not None:
            return self.codec.encode(self.schema_name, obj)
        raise EncodeError(
            f"{AVRO_CODEC} encodes (schema_name, dict), bytes, or a dict for a codec bound to "
            f"one schema; got {type(obj).__name__}"
        )

    def _loads(self, s: bytes) -> Decoded | DecodeError:
        return self.codec.decode(s)


def register_faust_codecs(codec: Codec) -> tuple[str, ...]:
    """Register this codec under purposegate's names (any schema, audit, DLQ); returns them."""
    codecs.register(AVRO_CODEC, AvroFaustCodec(codec=codec))
    codecs.register(AUDIT_CODEC, AvroFaustCodec(codec=codec, schema_name=AUDIT_RECORD))
    codecs.register(DLQ_CODEC, AvroFaustCodec(codec=codec, schema_name=DLQ_RECORD))
    return (AVRO_CODEC, AUDIT_CODEC, DLQ_CODEC)
