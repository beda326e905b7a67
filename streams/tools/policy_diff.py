"""The decision diff of two policies over one input file (``purposegate diff-policy``).

Every line is validated and every valid event decided under each policy separately, in the
dry-run's event-time order with the same ``step`` (``policy.replay``), each policy carrying its
own subjects' states. Per recipient × purpose × item and change (gained, lost): how many events
and how many distinct subjects, and the first few event ids as examples. Subjects are counted,
never named. An event one policy refuses (invalid under its inputs) sends nothing under it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from policy.compile import CompiledPolicy
from policy.diff import RECORD, RouteChange, Sent, changes_between, sent
from policy.replay import decide_in_order
from policy.validation import InputEvent, validate
from streams.wire.jsonl import Line, parse_line

EXAMPLES: Final = 3
Lines = Callable[[], Iterable[tuple[int, bytes]]]


@dataclass
class Tally:
    events: int = 0
    subjects: set[str] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)


@dataclass
class PolicyDiff:
    old_version: str
    new_version: str
    events: int = 0
    changed_events: int = 0
    #: Valid events each policy refused (the other decided them).
    refused_by_old: int = 0
    refused_by_new: int = 0
    rows: dict[RouteChange, Tally] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return not self.rows


class Decided:
    """One event's identity and what it sent under one policy."""

    __slots__ = ("event_id", "customer_id", "sends")

    def __init__(self, event_id: str, customer_id: str, sends: frozenset[Sent]) -> None:
        self.event_id, self.customer_id, self.sends = event_id, customer_id, sends


def decide_file(
    lines: Iterable[tuple[int, bytes]], compiled: CompiledPolicy, now: datetime
) -> dict[int, Decided]:
    """Line number → what its event sent under ``compiled`` (valid events only)."""
    valid: list[tuple[int, InputEvent]] = []
    for number, raw in lines:
        parsed = parse_line(raw)
        if isinstance(parsed, Line):
            checked = validate(parsed.topic, parsed.value, compiled, now)
            if isinstance(checked, InputEvent):
                valid.append((number, checked))
    return {
        number: Decided(decision.event_id, decision.customer_id, sent(decision))
        for number, decision in decide_in_order(valid, compiled)
    }


def diff_policies(
    lines: Lines, old: CompiledPolicy, new: CompiledPolicy, now: datetime
) -> PolicyDiff:
    """The diff of ``new`` against ``old`` over the events of ``lines()`` (read twice)."""
    before = decide_file(lines(), old, now)
    after = decide_file(lines(), new, now)
    result = PolicyDiff(old.policy_version, new.policy_version)
    for number in sorted(before.keys() | after.keys()):
        was, now_ = before.get(number), after.get(number)
        result.events += 1
        result.refused_by_old += was is None
        result.refused_by_new += now_ is None
        either = was if was is not None else now_
        if either is None:  # cannot happen: the number comes from one of the two maps
            continue
        found = changes_between(
            was.sends if was else frozenset(), now_.sends if now_ else frozenset()
        )
        if found:
            result.changed_events += 1
        for change in found:
            tally = result.rows.setdefault(change, Tally())
            tally.events += 1
            tally.subjects.add(either.customer_id)
            if len(tally.examples) < EXAMPLES:
                tally.examples.append(either.event_id)
    return result


def item_name(item: str) -> str:
    return "the record itself" if item == RECORD else item


def render_text(diff: PolicyDiff, old_name: str, new_name: str) -> str:
    lines = [
        f"diff-policy: {old_name} (version {diff.old_version}) -> {new_name} "
        f"(version {diff.new_version})",
        f"{diff.events} event(s) decided; {diff.changed_events} decided differently",
    ]
    if diff.refused_by_old or diff.refused_by_new:
        lines.append(
            f"refused as invalid: {diff.refused_by_old} under the old policy, "
            f"{diff.refused_by_new} under the new"
        )
    if diff.identical:
        return "\n".join([*lines, "identical: no recipient gains or loses anything"]) + "\n"
    header = ("recipient", "purpose", "item", "change", "events", "subjects", "examples")
    rows = [
        (c.recipient, c.purpose, item_name(c.item), c.change, str(t.events),
         str(len(t.subjects)), ", ".join(t.examples))
        for c, t in sorted(diff.rows.items())
    ]  # fmt: skip
    return "\n".join([*lines, *change_table(header, rows)]) + "\n"


def change_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """The summary table of changes (``diff-policy``, ``policies``): columns padded to their
    widest cell, the last one left as it is."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    lines = []
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


def render_json(diff: PolicyDiff, old_name: str, new_name: str) -> str:
    rows: list[dict[str, Any]] = [
        {**change._asdict(), "events": t.events, "subjects": len(t.subjects),
         "examples": t.examples}
        for change, t in sorted(diff.rows.items())
    ]  # fmt: skip
    document = {
        "old": {"policy": old_name, "version": diff.old_version},
        "new": {"policy": new_name, "version": diff.new_version},
        "events": diff.events,
        "changed_events": diff.changed_events,
        "refused_by_old": diff.refused_by_old,
        "refused_by_new": diff.refused_by_new,
        "identical": diff.identical,
        "changes": rows,
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
