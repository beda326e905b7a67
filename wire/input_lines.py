"""The one door from JSON to input records: every path that turns contract JSON lines
(``{"topic": ..., "value": {...}}``) into input records goes through ``read_line``:
``purposegate dry-run`` (which decides the event), ``purposegate produce``, the benchmarks'
and the tests' feeders (which encode it, ``prepare``) — docs/contract.md §1.

``read_line`` is ``wire.jsonl.parse_line`` (strict JSON) then
``policy.validation.validate`` (the schema's types without any conversion, the policy's enums,
ranges and formats, the size and time limits), so every path refuses the same lines with the
same reasons (``read_line_under``: the same door for a line checked under several policies at
once, ``diff-policy``'s old and new). ``prepare`` encodes only what passed, with the codec's
strict writer, keyed by ``customer_id``: what it writes decodes to the validated value. A bad
line is a ``BadLine`` naming the fields, never their values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from policy.input_rules import DEFAULT_LIMITS, InputLimits
from policy.input_schemas import load_input_schemas
from policy.models import Policy
from policy.validation import HasTopicRules, InputEvent, Invalid, TopicRules, build_topic_rules
from policy.validation import validate as validate_value
from wire.codec import Codec, EncodeError
from wire.jsonl import BOM, Line, parse_line

Clock = Callable[[], datetime]


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


@dataclass(frozen=True)
class Rules:
    """Validation rules of the input topics (``HasTopicRules``) for a policy alone."""

    topic_rules: Mapping[str, TopicRules]


def topic_rules(policy: Policy, limits: InputLimits = DEFAULT_LIMITS) -> Rules:
    """The rules ``read_line`` checks with, without compiling the policy (no keys needed)."""
    return Rules(build_topic_rules(policy, load_input_schemas(), limits))


def read_line(raw: bytes, rules: HasTopicRules, now: datetime) -> tuple[str, InputEvent | Invalid]:
    """The door: a line as ``(its topic, the validated event)`` or ``(its topic if known,
    why not)``; ``now`` is the processing clock. Never raises, never quotes a value."""
    parsed = parse_line(raw)
    if not isinstance(parsed, Line):
        return parsed
    return parsed.topic, validate_value(parsed.topic, parsed.value, rules, now)


def read_line_under(
    raw: bytes, rules: Sequence[HasTopicRules], now: datetime
) -> tuple[str, list[InputEvent | Invalid]]:
    """``read_line`` under each of ``rules`` (one parse): ``(its topic, one result per rules)``."""
    parsed = parse_line(raw)
    if not isinstance(parsed, Line):
        return parsed[0], [parsed[1]] * len(rules)
    return parsed.topic, [validate_value(parsed.topic, parsed.value, r, now) for r in rules]


def _now() -> datetime:
    return datetime.now(UTC)


def prepare(
    lines: Iterable[str | bytes],
    codec: Codec,
    policy: Policy | HasTopicRules,
    clock: Clock = _now,
) -> Iterator[Prepared | BadLine]:
    """Each non-blank line through the door, then encoded; or the reason it cannot be.
    ``policy``: the policy (default input limits) or prepared rules (``topic_rules``, a
    ``CompiledPolicy``). Text lines read with ``errors="surrogateescape"`` keep bad bytes; a UTF-8
    byte order mark before the first line is dropped, as ``dry-run`` drops it."""
    rules = topic_rules(policy) if isinstance(policy, Policy) else policy
    for number, line in enumerate(lines, start=1):
        raw = line if isinstance(line, bytes) else line.encode("utf-8", "surrogateescape")
        raw = raw.rstrip(b"\r\n")
        if number == 1:  # a byte order mark is not part of the first line (as read_lines)
            raw = raw.removeprefix(BOM)
        if not raw.strip():
            continue
        yield prepare_line(number, raw, codec, rules, clock())


def prepare_line(
    number: int, raw: bytes, codec: Codec, rules: HasTopicRules, now: datetime
) -> Prepared | BadLine:
    """One line through the door and the codec's strict writer."""
    _, checked = read_line(raw, rules, now)
    if isinstance(checked, Invalid):
        return BadLine(number, checked.error)
    try:
        encoded = codec.encode_for(checked.topic, checked.value, strict=True)
    except EncodeError as exc:  # a key the schema cannot carry; the message names fields only
        return BadLine(number, str(exc))
    return Prepared(number, checked.topic, checked.customer_id.encode("utf-8"), encoded)
