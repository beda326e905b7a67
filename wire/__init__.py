"""The wire: Avro schemas and formats, Kafka headers, dead-letter records, JSON-lines forms
(see ``docs/design.md``).

``SchemaStore`` loads ``schemas/`` once; ``Codec`` encodes/decodes records in the Avro
single-object encoding or the Confluent wire format.
"""

from wire.codec import (
    Codec,
    Decoded,
    DecodeError,
    EncodeError,
    WireFormat,
    effective_wire_format,
)
from wire.headers import stamp_headers
from wire.store import FieldInfo, Route, Schema, SchemaStore

__all__ = [
    "Codec",
    "DecodeError",
    "Decoded",
    "EncodeError",
    "FieldInfo",
    "Route",
    "Schema",
    "SchemaStore",
    "WireFormat",
    "effective_wire_format",
    "stamp_headers",
]
