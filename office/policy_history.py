"""Every policy version the workers ran (``purposegate policies``): when each first and last
decided (``office.policy_uses``), and what changed from the one before it. Pure.

Versions are listed by their first decision; versions kept but never seen deciding come last.
The change from the previous version is what its routes can send (``policy.diff.policy_sends``:
per recipient, purpose and item, gained or lost, in ``diff-policy``'s table) and the names of
the other sections that differ (a consent period, a condition, the metadata). A version the
audit names but nobody kept is listed and said to be missing: ``explain`` cannot explain it.

>>> render_text([]).strip()
'policies: no policy version is kept and none decided'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from office.policy_diff import change_table, item_name
from policy.diff import RouteChange, changes_between, policy_sends
from policy.history import Use
from policy.models import Policy
from wire.jsonvalues import format_timestamp

#: A version's policy, or None when it is not kept (or no longer loads).
Lookup = Callable[[str], Policy | None]
_NOT_SECTIONS: Final = frozenset({"version"})


@dataclass(frozen=True)
class Entry:
    version: str
    use: Use | None
    kept: bool
    #: The version compared with (None: the first, or nothing to compare with).
    previous: str | None
    changes: tuple[RouteChange, ...] | None
    sections: tuple[str, ...]


def history(versions: list[str], uses: Mapping[str, Use], lookup: Lookup) -> list[Entry]:
    """The entries of every version kept or used, in order of first use."""
    every = set(versions) | set(uses)
    used = sorted((v for v in every if v in uses), key=lambda v: (uses[v].first, v))
    ordered = used + sorted(every - set(used))
    entries: list[Entry] = []
    previous: tuple[str, Policy] | None = None
    for version in ordered:
        policy = lookup(version)
        entries.append(_entry(version, uses.get(version), policy, previous))
        if policy is not None:
            previous = (version, policy)
    return entries


def _entry(
    version: str, use: Use | None, policy: Policy | None, previous: tuple[str, Policy] | None
) -> Entry:
    if policy is None or previous is None:
        return Entry(version, use, policy is not None, None, None, ())
    name, before = previous
    found = changes_between(policy_sends(before), policy_sends(policy))
    old, new = before.model_dump(), policy.model_dump()
    sections = tuple(k for k in new if k not in _NOT_SECTIONS and old.get(k) != new[k])
    return Entry(version, use, True, name, found, sections)


def _when(time: datetime | None) -> str:
    return format_timestamp(time) if time else "never"


def render_text(entries: list[Entry]) -> str:
    if not entries:
        return "policies: no policy version is kept and none decided\n"
    lines: list[str] = []
    for entry in entries:
        lines += ["", *_text_entry(entry)]
    return "\n".join(lines[1:]) + "\n"


def _text_entry(entry: Entry) -> list[str]:
    use = entry.use
    decided = (
        f"first decided {_when(use.first)}, last {_when(use.last)}, {use.records} audit record(s)"
        if use
        else "kept, never seen deciding"
    )
    lines = [f"version {entry.version}: {decided}"]
    if not entry.kept:
        return [*lines, "  not kept: its text is nowhere to be read (explain cannot use it)"]
    if entry.previous is None or entry.changes is None:
        return lines
    lines.append(f"  against {entry.previous}: sections changed: {', '.join(entry.sections)}")
    if not entry.changes:
        return [*lines, "  no recipient gains or loses an item"]
    header = ("recipient", "purpose", "item", "change")
    rows = [(c.recipient, c.purpose, item_name(c.item), c.change) for c in entry.changes]
    return [*lines, *(f"  {line}" for line in change_table(header, rows))]


def render_json(entries: list[Entry]) -> str:
    document = [_json_entry(e) for e in entries]
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _json_entry(entry: Entry) -> dict[str, Any]:
    use = entry.use
    return {
        "version": entry.version,
        "kept": entry.kept,
        "first_decided": _when(use.first) if use else None,
        "last_decided": _when(use.last) if use else None,
        "audit_records": use.records if use else 0,
        "previous": entry.previous,
        "sections_changed": list(entry.sections),
        "changes": [c._asdict() for c in entry.changes] if entry.changes is not None else None,
    }


FORMATS: Final = {"text": render_text, "json": render_json}
