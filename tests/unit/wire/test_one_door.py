"""One door (docs/contract.md §1), as a property: for any JSON line, however hostile its types at
any field and depth (items' keys, answers' values included), ``produce``'s preparation accepts
it exactly when ``dry-run`` does (and the Avro record can carry every key it has), and what it
writes decodes to the value ``dry-run`` validated. Nothing is converted on the way: ``"false"``
stays no boolean, ``1.0`` no integer, ``true`` no integer, ``NaN`` no number.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.dry_run import dry_run
from policy.validation import Invalid
from tests.unit.policy.samples import NOW, compiled, consent, entry, inquiry, order, request
from tests.unit.wire.codecs import CODEC
from wire.codec import Decoded
from wire.input_lines import BadLine, Prepared, prepare, read_line
from wire.jsonl import TopicFiles
from wire.jsonvalues import to_json

#: A valid record of every input topic, as JSON: every mutation starts from one.
VALID: list[tuple[str, dict[str, Any]]] = [
    ("orders", to_json(order())),
    ("inquiries", to_json(inquiry(skin_concerns=["dryness"]))),
    ("campaign-entries", to_json(entry(kind="questionnaire", answers={"q1": "a", "q2": "b"}))),
    ("consents", to_json(consent("marketing", False))),
    ("subject-requests", to_json(request("suspend_use", True))),
]
UNKNOWN_KEY = "zz_unclassified"

#: Values of every JSON type, and the ones a lax reader or writer converts.
HOSTILE = st.one_of(
    st.sampled_from(["false", "true", "0", "1", "", "1.0", "null", "NaN", "2026-11-24T09:30:00Z"]),
    st.booleans(),
    st.none(),
    st.sampled_from([0, 1, -1, 5, 1900, 2**31 - 1, 2**31, -(2**31) - 1, 2**63, -(2**63) - 1]),
    st.sampled_from([0.0, 1.0, 2.5, -1.0, math.nan, math.inf, -math.inf, 1e300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.text(max_size=5),
    st.lists(st.one_of(st.integers(), st.text(max_size=3), st.booleans()), max_size=2),
    st.dictionaries(st.text(max_size=3), st.one_of(st.text(max_size=3), st.integers()), max_size=2),
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value: each key of each object, each entry of each list."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*path, index))
    return found


def _set(value: Any, path: tuple[Any, ...], new: Any) -> None:
    for step in path[:-1]:
        value = value[step]
    value[path[-1]] = new


@st.composite
def hostile_lines(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A line, mostly one to three values of a valid record replaced by hostile ones at any
    depth; sometimes a key no schema has. Returns (line, whether it has such a key)."""
    topic, valid = draw(st.sampled_from(VALID))
    value = json.loads(json.dumps(valid))
    for _ in range(draw(st.integers(0, 3))):
        _set(value, draw(st.sampled_from(_paths(value))), draw(HOSTILE))
    extra = draw(st.booleans()) and draw(st.integers(0, 9)) == 0
    if extra:
        holders = [p for p in _paths(value) if isinstance(_get(value, p), dict)]
        at = draw(st.sampled_from([(), *holders]))
        target = _get(value, at)
        # a new key inside a map (answers) is data, not a key the schema lacks
        extra = at[-1:] != ("answers",)
        target[UNKNOWN_KEY] = "x"
    line = json.dumps({"topic": topic, "value": value}, allow_nan=True)
    return line.encode(), extra


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _dry_run_refuses(raw: bytes) -> bool:
    """Whether ``dry-run`` sends the line to its DLQ (the real command's loop, on one line)."""
    with tempfile.TemporaryDirectory() as out, TopicFiles(Path(out)) as files:
        summary = dry_run([(1, raw)], compiled(), files, clock=lambda: NOW)
    return summary.dead_letters == 1


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=hostile_lines())
def test_when_any_line_is_prepared_then_produce_accepts_exactly_what_dry_run_does(
    case: tuple[bytes, bool],
) -> None:
    raw, extra_key = case
    (prepared,) = prepare([raw], CODEC, compiled(), clock=lambda: NOW)
    refused_by_dry_run = _dry_run_refuses(raw)
    if extra_key and not refused_by_dry_run:
        # dry-run audits it as unclassified; an Avro record cannot carry it: refused, not dropped
        assert isinstance(prepared, BadLine), prepared
        return
    assert isinstance(prepared, BadLine) is refused_by_dry_run, prepared
    if isinstance(prepared, Prepared):
        _, validated = read_line(raw, compiled(), NOW)
        assert not isinstance(validated, Invalid)
        decoded = CODEC.decode(prepared.value)
        assert isinstance(decoded, Decoded)
        assert decoded.value == validated.value
        assert prepared.key == validated.customer_id.encode()
