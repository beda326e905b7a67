"""One bad line never stops the dry run: invalid UTF-8, lone surrogates, oversized strings and
hostile nesting each become one DLQ record with a readable reason, and every other line is
decided as usual; every file written is valid UTF-8."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cli.dry_run import dry_run
from policy import topics
from policy.validation import Invalid
from tests.unit.policy.samples import NOW, compiled, order
from wire.jsonl import TopicFiles, dumps, parse_line

GOOD = dumps({"topic": "orders", "value": order()}).encode()


def line(value: dict[str, Any], topic: str = "orders") -> bytes:
    # json.dumps with ensure_ascii keeps a lone surrogate as the escape "\ud800", as a
    # hostile producer would write it
    return json.dumps({"topic": topic, "value": value}, default=str).encode()


HOSTILE = [
    # bytes that are not UTF-8 at all
    (b'{"topic": "orders", "value": {"name": "\xff\xfe"}}', "invalid_unicode", "not valid UTF-8"),
    # a lone surrogate in a name
    (line(order(name="\ud800")), "invalid_unicode", "'name'"),
    # a lone surrogate in a key nobody classifies
    (line(order(**{"\udc00": 1})), "invalid_unicode", "a key of the record"),
    # a lone surrogate in the topic name
    (line(order(), topic="\ud800"), "unknown_topic", "not a topic name"),
    # a five-megabyte name
    (line(order(name="n" * 5_000_000)), "too_large", "'name'"),
    # nesting deeper than the JSON reader goes
    (
        b'{"topic": "orders", "value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "not_json",
        "nested too deeply",
    ),  # fmt: skip
    # a lower-case country
    (line(order(country="jp")), "unknown_enum", "'country'"),
    # a negative total
    (line(order(total_jpy=-1)), "out_of_range", "'total_jpy'"),
]


@pytest.mark.parametrize(("raw", "kind", "reason"), HOSTILE)
def test_when_a_hostile_line_comes_then_it_goes_to_the_dlq_and_the_run_goes_on(
    tmp_path: Path, raw: bytes, kind: str, reason: str
) -> None:
    with TopicFiles(tmp_path) as files:
        summary = dry_run([(1, GOOD), (2, raw), (3, GOOD)], compiled(), files, lambda: NOW)
    assert (summary.events, summary.dead_letters) == (2, 1)
    (letter,) = [json.loads(x) for x in (tmp_path / f"{topics.DLQ}.jsonl").read_text("utf-8")
                 .splitlines()]  # fmt: skip
    assert letter["value"]["error_kind"] == kind, letter["value"]["error"]
    assert reason in letter["value"]["error"]
    assert letter["value"]["source_topic"] in ("orders", "unknown")
    for path in tmp_path.iterdir():
        path.read_bytes().decode("utf-8")  # strict: every file is valid UTF-8


def test_when_a_line_is_not_utf8_then_it_is_reported_as_such_not_as_bad_json() -> None:
    parsed = parse_line(b'{"topic": "orders", "value": {"name": "\xc3\x28"}}')
    assert isinstance(parsed, tuple) and isinstance(parsed[1], Invalid)
    assert parsed[1] == Invalid("the line is not valid UTF-8 (byte 40)", "invalid_unicode")


def test_when_the_clock_is_injected_then_the_dry_run_judges_the_future_by_it(
    tmp_path: Path,
) -> None:
    ahead = line(order(event_time=datetime(2030, 1, 1, tzinfo=UTC)))
    with TopicFiles(tmp_path / "now") as files:
        early = dry_run([(1, ahead)], compiled(), files, lambda: NOW)
    with TopicFiles(tmp_path / "later") as files:
        later = dry_run([(1, ahead)], compiled(), files, lambda: datetime(2030, 1, 1, tzinfo=UTC))
    assert (early.dead_letters, later.dead_letters) == (1, 0)
