"""Contract JSON lines (``{"topic": ..., "value": {...}}``) as Avro input records, keyed by
``customer_id`` (``purposegate produce``, the benchmarks and the tests).

Every line is checked against its topic's schema (the record ``policy.yaml`` names for the
topic); a line that does not fit is a ``BadLine`` naming the fields, never their values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from policy import topics
from policy.models import Policy
from streams.wire.codec import Codec, EncodeError
from streams.wire.jsonvalues import from_json


@dataclass(frozen=True)
class Prepared:
    """One line, encoded and ready to send."""

    line: int
    topic: str  # logical
    key: bytes
    value: bytes


@dataclass(frozen=True)
class BadLine:
    line: int
    error: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.error}"


def prepare(lines: Iterable[str], codec: Codec, policy: Policy) -> Iterator[Prepared | BadLine]:
    """Each non-blank line as an encoded record or as the reason it cannot be one."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            yield _prepare_line(number, text, codec, policy)
        except (ValueError, EncodeError) as exc:  # messages name fields, never values
            yield BadLine(number, str(exc))


def _prepare_line(number: int, text: str, codec: Codec, policy: Policy) -> Prepared:
    try:  # a file read with errors="surrogateescape" keeps undecodable bytes as surrogates
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid UTF-8 text") from None
    try:
        line = json.loads(text)
    except ValueError:
        raise ValueError("not valid JSON") from None
    if not isinstance(line, dict) or set(line) != {"topic", "value"}:
        raise ValueError('expected {"topic": ..., "value": {...}} and nothing else')
    topic, raw_value = line["topic"], line["value"]
    if topic not in topics.INPUT_TOPICS:
        raise ValueError(
            f"topic {topic!r} is not an input topic ({', '.join(topics.INPUT_TOPICS)})"
        )
    if not isinstance(raw_value, dict):
        raise ValueError(f"{topic}: value must be an object")
    schema = codec.store.get(policy.inputs[topic].record)
    value = from_json(schema, raw_value)
    encoded = codec.encode_for(topic, value, strict=True)  # EncodeError names the fields
    return Prepared(number, topic, str(value["customer_id"]).encode(), encoded)
