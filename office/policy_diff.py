"""The decision diff of two policies over one input file (``purposegate diff-policy``).

The input is read once: every line goes through the one door under each policy
(``wire.input_lines.read_line_under``), the valid events are sorted once with bounded
memory into the dry-run's event-time order, and each is decided under both policies in lockstep
by the one flow (``flow.path.InOrder``), each policy carrying its own subjects' states. Per
recipient × purpose × item and change (gained, lost): how many events and how many distinct
subjects, and the first few event ids as examples. Subjects are counted, never named. An event
one policy refuses (invalid under its inputs) sends nothing under it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from flow.path import InOrder
from policy.compile import CompiledPolicy
from policy.diff import RECORD, RouteChange, changes_between, sent
from policy.ordering import decision_order
from policy.validation import InputEvent
from wire.event_source import Seen
from wire.external_sort import external_sorted
from wire.input_lines import read_line_under

EXAMPLES: Final = 3
#: One line's event under the old and the new policy (None where that policy refused it).
Pair = tuple[int, InputEvent | None, InputEvent | None]


@dataclass
class Tally:
    events: int = 0
    subjects: set[str] = field(default_factory=set)
    #: The first events by line number: ``(line, event id)``, at most ``EXAMPLES``.
    firsts: list[tuple[int, str]] = field(default_factory=list)

    @property
    def examples(self) -> list[str]:
        return [event_id for _, event_id in self.firsts]

    def add(self, number: int, event_id: str, customer_id: str) -> None:
        self.events += 1
        self.subjects.add(customer_id)
        if len(self.firsts) < EXAMPLES or number < self.firsts[-1][0]:
            self.firsts = sorted([*self.firsts, (number, event_id)])[:EXAMPLES]


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


def diff_policies(
    lines: Iterable[tuple[int, bytes]],
    old: CompiledPolicy,
    new: CompiledPolicy,
    now: datetime,
    seen: Seen | None = None,
    shown: Callable[[Iterator[Pair]], Iterator[Pair]] | None = None,
) -> PolicyDiff:
    """The diff of ``new`` against ``old`` over the events of ``lines``, read once: each line
    validated under both, the events sorted once (memory bounded) and decided under each policy
    in lockstep, each carrying its own subjects' states; only the tallies are kept. ``shown``
    wraps the sorted events (a progress bar)."""
    seen = seen if seen is not None else Seen()
    before, after = InOrder(old), InOrder(new)
    result = PolicyDiff(old.policy_version, new.policy_version)
    ordered = external_sorted(_pairs(lines, old, new, now, seen), key=_order)
    for number, was, will in shown(ordered) if shown else ordered:
        sent_before = sent(before.decide(was)) if was is not None else None
        sent_after = sent(after.decide(will)) if will is not None else None
        result.events += 1
        result.refused_by_old += sent_before is None
        result.refused_by_new += sent_after is None
        found = changes_between(sent_before or frozenset(), sent_after or frozenset())
        result.changed_events += bool(found)
        either = was or will  # one of them is an event: _pairs keeps no other line
        for change in found:
            if either is not None:
                result.rows.setdefault(change, Tally()).add(
                    number, either.event_id, either.customer_id
                )
    return result


def _pairs(
    lines: Iterable[tuple[int, bytes]],
    old: CompiledPolicy,
    new: CompiledPolicy,
    now: datetime,
    seen: Seen,
) -> Iterator[Pair]:
    """Each line valid under either policy, with its event under each."""
    for number, raw in lines:
        topic, (was, will) = read_line_under(raw, (old, new), now)  # the one door, twice
        seen.note(raw, topic)
        pair = (
            number,
            was if isinstance(was, InputEvent) else None,
            will if isinstance(will, InputEvent) else None,
        )
        if pair[1] is not None or pair[2] is not None:
            seen.valid += 1
            yield pair


def _order(pair: Pair) -> tuple[Any, int]:
    event = pair[1] if pair[1] is not None else pair[2]
    return (decision_order(event) if event is not None else ()), pair[0]


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
