"""Contract lines for ``produce``: every bad line is a ``BadLine`` with its number and a reason
that names no value; nothing raises for the whole file."""

from __future__ import annotations

import pytest

from policy.loader import load_policy
from streams.wire import Codec, SchemaStore
from streams.wire.input_lines import BadLine, prepare

BAD = [
    # bytes that are not UTF-8, as produce reads them (errors="surrogateescape")
    (b'{"topic": "orders", "value": {"name": "\xff\xfe"}}', "not valid UTF-8 text"),
    # not JSON
    (b"not json", "not valid JSON"),
    # a line of one of purposegate's own outputs
    (b'{"topic": "purposegate.audit", "value": {}}', "is not an input topic"),
]


@pytest.mark.parametrize(("raw", "reason"), BAD)
def test_when_a_line_is_bad_then_it_is_a_bad_line_with_its_reason(raw: bytes, reason: str) -> None:
    text = raw.decode("utf-8", errors="surrogateescape")
    (result,) = prepare([text], Codec(SchemaStore.load()), load_policy())
    assert isinstance(result, BadLine)
    assert result.line == 1 and reason in result.error
    assert "\udcff" not in result.error
