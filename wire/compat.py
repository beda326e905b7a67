"""Schema compatibility of the current schemas with the released ones (``schemas/released/``).

Directions, as Avro schema resolution and schema registries name them:

- **BACKWARD**: a reader with the current schema reads data written with the released one.
- **FORWARD**: a reader with the released schema reads data written with the current one.
- **FULL**: both.

Rules (``RULES``):

- **input: FULL.** Upstream producers and purposegate upgrade independently: the worker must read
  what producers still on the released schema write, and consumers still on the released schema
  (an older worker during a rolling deploy, other readers of the input topics) must read what
  upgraded producers write. Every released input schema must still exist.
- **output, topics, audit, dlq: BACKWARD** (``topics``: the record a shared topic carries on
  the wire, whose ``<topic>-value`` subject the registry also holds to BACKWARD). These
  topics keep what was written under the released schema
  (shared topics 30 days, the audit three years): whoever reads them with the current schema —
  a recipient that upgraded, the privacy office, ``dump``/``explain`` — must read the old
  records. So a field may be added only with a default, a type may only widen (int→long, a
  union gains a branch, a field becomes nullable), nothing may be renamed without an alias.
  A field may be *removed* from an output: Avro resolution skips writer fields the reader lacks,
  and a privacy gate must be able to stop sending an item at once; recipients still reading
  with the released schema then need a default for it (tell them; the catalogue shows it).
  A whole output schema may disappear (a route withdrawn); the audit and DLQ schemas may not.

The compatibility relation itself is Apache Avro's ``ReaderWriterCompatibilityChecker`` (the
Java rules). ``purposegate schemas --check`` (``make check-schemas``) prints every problem;
``--release`` (``make release-schemas``) copies the current schemas over ``schemas/released/``
after the same check, or despite it with ``--allow-breaking``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Final

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from policy.input_schemas import SCHEMAS_DIR
from wire.store import KINDS

RELEASED_DIR: Final = SCHEMAS_DIR / "released"
RELEASE_NOTE: Final = "RELEASE"


class Rule(Enum):
    BACKWARD = "BACKWARD"
    FULL = "FULL"


RULES: Final[Mapping[str, Rule]] = {
    "input": Rule.FULL,
    "output": Rule.BACKWARD,
    "topics": Rule.BACKWARD,  # the shared topics' wire records: their subjects are BACKWARD too
    "audit": Rule.BACKWARD,
    "dlq": Rule.BACKWARD,
}
#: Kinds whose released schemas must all still exist (an output route may be withdrawn).
MUST_REMAIN: Final = frozenset({"input", "audit", "dlq"})

_WHAT: Final[Mapping[str, str]] = {
    "reader_field_missing_default_value": "a field the writer lacks has no default",
    "type_mismatch": "a type changed incompatibly",
    "missing_enum_symbols": "enum symbols are missing",
    "missing_union_branch": "a union branch is missing",
    "name_mismatch": "a named type was renamed (without an alias)",
    "fixed_size_mismatch": "a fixed size changed",
}


def backward_incompatibilities(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Why data written with ``old`` cannot be read with ``new``; [] when it can."""
    reader = avro.schema.parse(json.dumps(new))
    writer = avro.schema.parse(json.dumps(old))
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    kinds = sorted({_WHAT.get(k.value, k.value) for k in result.incompatibilities})
    where = sorted({_readable(loc, new) for loc in result.locations if loc != "/"} or {"/"})
    details = "; ".join(sorted(result.messages))
    return [f"{', '.join(kinds) or 'incompatible'} at {', '.join(where)} ({details})"]


def incompatibilities(
    released: Mapping[str, Any], current: Mapping[str, Any], rule: Rule
) -> list[str]:
    """Every way ``current`` breaks ``rule`` against ``released``; [] when it keeps it."""
    problems = [f"BACKWARD: {p}" for p in backward_incompatibilities(released, current)]
    if rule is Rule.FULL:
        problems += [f"FORWARD: {p}" for p in backward_incompatibilities(current, released)]
    return problems


def _readable(location: str, schema: Mapping[str, Any]) -> str:
    """``/fields/3/type/items/fields/0`` as ``items[].sku`` (the raw path when it cannot)."""
    names: list[str] = []
    node: Any = schema
    parts = [p for p in location.split("/") if p]
    try:
        for part in parts:
            if isinstance(node, Mapping) and part == "fields":
                continue
            if part.isdigit() and isinstance(node, Mapping):
                node = node["fields"][int(part)]
                names.append(str(node["name"]))
            elif part.isdigit() and isinstance(node, list):
                node = node[int(part)]
            elif part == "items" and names:
                names[-1] += "[]"
                node = node["items"]
            else:
                node = node[part]
    except (KeyError, IndexError, TypeError):
        return location
    return ".".join(names) or "the record itself"


@dataclass(frozen=True)
class Problem:
    """One released schema that the current set breaks."""

    path: str  # <kind>/<file>.avsc
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.path} ({RULES[self.path.split('/')[0]].value}): " + " | ".join(self.reasons)


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def release_problems(released: Path = RELEASED_DIR, current: Path = SCHEMAS_DIR) -> list[Problem]:
    """Every released schema that the current schemas break, under its kind's rule."""
    problems: list[Problem] = []
    for kind in KINDS:
        old = {p.name: p for p in (released / kind).glob("*.avsc")}
        new = {p.name: p for p in (current / kind).glob("*.avsc")}
        for name in sorted(old):
            if name not in new:
                if kind in MUST_REMAIN:
                    problems.append(Problem(f"{kind}/{name}", ("removed",)))
                continue
            reasons = incompatibilities(_load(old[name]), _load(new[name]), RULES[kind])
            if reasons:
                problems.append(Problem(f"{kind}/{name}", tuple(reasons)))
    return problems


def release(current: Path = SCHEMAS_DIR, released: Path = RELEASED_DIR) -> None:
    """Make the current schemas the released set (the caller has checked or allowed breaks)."""
    for kind in KINDS:
        shutil.rmtree(released / kind, ignore_errors=True)
        (released / kind).mkdir(parents=True)
        for path in sorted((current / kind).glob("*.avsc")):
            shutil.copy2(path, released / kind / path.name)
    (released / RELEASE_NOTE).write_text(
        f"released {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} from {_commit(current)}\n"
    )


def _commit(folder: Path) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            ["git", "-C", str(folder), "describe", "--always", "--dirty"],  # noqa: S607
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except OSError:
        return "an unknown commit"
    return f"commit {done.stdout.strip()}" if done.returncode == 0 else "an unknown commit"
