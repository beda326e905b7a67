"""The records a JSON-lines input sends per route, and the linkability report over them
(``purposegate linkability``, ``make bench-report``).

Every line goes through the one door (``wire.input_lines.read_line``) and every valid
event is decided in the dry-run's event-time order by the one flow (``flow.path``);
the outputs are grouped by route and measured by ``policy.linkability``. The report names
routes, shares and value names, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flow.path import decide_in_order
from policy.compile import CompiledPolicy
from policy.linkability import GOAL, RouteLinkage, measure
from policy.validation import InputEvent
from wire.input_lines import read_line


def route_records(
    lines: Iterable[tuple[int, bytes]], compiled: CompiledPolicy, now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Route id (``recipient/purpose/source``) -> every value it sent, in decision order."""
    valid: list[tuple[int, InputEvent]] = []
    for number, raw in lines:
        _, checked = read_line(raw, compiled, now)  # the one door (dry-run's)
        if isinstance(checked, InputEvent):
            valid.append((number, checked))
    records: dict[str, list[dict[str, Any]]] = {}
    for _, decision in decide_in_order(valid, compiled):
        for output in decision.outputs:
            route = f"{output.recipient}/{output.purpose}/{output.value['source_topic']}"
            records.setdefault(route, []).append(output.value)
    return records


def linkability(
    lines: Iterable[tuple[int, bytes]], compiled: CompiledPolicy, now: datetime
) -> list[RouteLinkage]:
    """Every pseudonymised route's linkage over the input's outputs."""
    return measure(compiled.policy, route_records(lines, compiled, now))


def render_text(found: list[RouteLinkage]) -> str:
    """One line per pseudonymised route: share linked, goal, and what links the most."""
    lines = [
        f"goal: at most {GOAL:.0%} of a pseudonymised route's records linked to the one named "
        "record of another recipient they belong to (expected count: a record that joins one "
        "named record alike with the records of m subjects counts 1/m), and at most "
        f"{GOAL:.0%} joining one named record at all"
    ]
    for row in found:
        verdict = "OVER THE GOAL" if row.over_goal else "ok"
        how = ""
        if row.worst is not None:
            how = f"; most by {' + '.join(row.worst[1])} against {row.worst[0]}"
        lines.append(
            f"{row.route}: {row.linked:.1f} of {row.records} record(s) linked ({row.share:.2%}), "
            f"{verdict}; {row.joined} join one named record at all ({row.joined_share:.2%}){how}"
        )
    return "\n".join(lines) + "\n"


def render_json(found: list[RouteLinkage]) -> str:
    """The same as one JSON object: ``goal`` and ``routes``."""
    routes = [
        {
            "route": row.route,
            "records": row.records,
            "linked": round(row.linked, 3),
            "joined": row.joined,
            "share": round(row.share, 6),
            "joined_share": round(row.joined_share, 6),
            "over_goal": row.over_goal,
            "worst": None
            if row.worst is None
            else {"named_route": row.worst[0], "values": list(row.worst[1])},
        }
        for row in found
    ]
    return json.dumps({"goal": GOAL, "routes": routes}, indent=2) + "\n"
