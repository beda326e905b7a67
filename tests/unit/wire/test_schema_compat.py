"""Every schema keeps its kind's compatibility rule against the released set
(``schemas/released/``, see ``wire/compat.py``): FULL for inputs, BACKWARD for outputs,
audit and DLQ. Apache Avro's checker decides; a data round trip with fastavro (an independent
implementation of schema resolution) agrees on every row.

The released set is in the repository, so this checks something on a clean clone too. A
deliberate break is released with ``make release-schemas ALLOW_BREAKING=1``.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from cli.main import main
from tests.unit.wire.samples import filled
from wire.compat import (
    MUST_REMAIN,
    RELEASED_DIR,
    RULES,
    Rule,
    incompatibilities,
    release,
    release_problems,
)
from wire.store import KINDS, SCHEMAS_DIR

RELEASED = sorted(p.relative_to(RELEASED_DIR).as_posix() for p in RELEASED_DIR.glob("*/*.avsc"))
Schema = dict[str, Any]


def _load(path: Path) -> Schema:
    loaded: Schema = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _round_trip(writer: Schema, reader: Schema, overrides: dict[str, Any]) -> None:
    """Write a sample with ``writer``, read it with ``reader`` (fastavro resolution)."""
    value = {**filled(writer), **{k: v for k, v in overrides.items() if k in filled(writer)}}
    out = BytesIO()
    schemaless_writer(out, parse_schema(writer, named_schemas={}), value)
    out.seek(0)
    schemaless_reader(
        out, parse_schema(writer, named_schemas={}), parse_schema(reader, named_schemas={})
    )


def _directions(released: Schema, current: Schema, rule: Rule) -> list[tuple[Schema, Schema]]:
    """(writer, reader) pairs the rule needs: BACKWARD old→new, FULL also new→old."""
    pairs = [(released, current)]
    return pairs + [(current, released)] if rule is Rule.FULL else pairs


@pytest.mark.parametrize("name", RELEASED)
def test_when_the_current_schema_is_compared_with_the_released_one_then_it_keeps_the_rule(
    name: str,
) -> None:
    # one row per released schema; its kind (the folder) names the rule
    kind = name.split("/")[0]
    current_path = SCHEMAS_DIR / name
    if not current_path.exists():
        assert kind not in MUST_REMAIN, f"released {kind} schema {name} was removed"
        return  # an output route withdrawn: nothing writes that schema any more
    released, current = _load(RELEASED_DIR / name), _load(current_path)
    problems = incompatibilities(released, current, RULES[kind])
    assert problems == [], (
        f"{name} breaks {RULES[kind].value} against schemas/released: {problems}. Add fields "
        "with defaults and widen types only; a deliberate break: make release-schemas "
        "ALLOW_BREAKING=1, and tell the consumers."
    )
    for writer, reader in _directions(released, current, RULES[kind]):
        _round_trip(writer, reader, {})


def test_when_the_released_set_is_read_then_every_kind_is_there() -> None:
    # a released set with a kind missing would check nothing for it
    assert {name.split("/")[0] for name in RELEASED} == set(KINDS)
    assert release_problems() == []


# Synthetic changes to real released schemas ------------------------------------------------


def _fields(schema: Schema, path: str) -> tuple[list[dict[str, Any]], int]:
    """The field list holding ``path`` (``items[].quantity``) and the field's index in it."""
    fields: list[dict[str, Any]] = schema["fields"]
    *parents, last = path.split(".")
    for parent in parents:
        field = next(f for f in fields if f["name"] == parent.removesuffix("[]"))
        fields = field["type"]["items"]["fields"]
    return fields, next(i for i, f in enumerate(fields) if f["name"] == last)


def remove(path: str) -> Callable[[Schema], None]:
    def change(schema: Schema) -> None:
        fields, index = _fields(schema, path)
        del fields[index]

    return change


def retype(path: str, avro_type: Any, **extra: Any) -> Callable[[Schema], None]:
    def change(schema: Schema) -> None:
        fields, index = _fields(schema, path)
        fields[index] = {**fields[index], "type": avro_type, **extra}
        if "default" in fields[index] and "default" not in extra:
            del fields[index]["default"]

    return change


def rename(path: str, new: str) -> Callable[[Schema], None]:
    def change(schema: Schema) -> None:
        fields, index = _fields(schema, path)
        fields[index] = {**fields[index], "name": new}

    return change


def add(name: str, avro_type: Any, **default: Any) -> Callable[[Schema], None]:
    def change(schema: Schema) -> None:
        schema["fields"].append({"name": name, "type": avro_type, **default})

    return change


ORDER = "input/OrderEvent.avsc"
CARGO = "output/septem-cargo.fulfilment.orders.avsc"
AUDIT = "audit/AuditRecord.avsc"
DLQ = "dlq/DeadLetter.avsc"
NULL_STRING = ["null", "string"]


@pytest.mark.parametrize(
    ("name", "change", "compatible", "witness"),
    [
        # inputs: FULL (old producers' data reads with the new schema, and the reverse)
        (ORDER, remove("email"), False, {}),  # a reader on the released schema needs it
        (ORDER, retype("total_jpy", "string"), False, {}),  # int -> string
        (ORDER, retype("total_jpy", "long"), False, {}),  # widening is BACKWARD only
        (ORDER, retype("items[].quantity", "string"), False, {}),  # a nested type change
        (ORDER, rename("phone", "telephone"), False, {}),  # a rename without alias
        (ORDER, add("gift_note", "string"), False, {}),  # added without default
        (ORDER, add("gift_note", NULL_STRING, default=None), True, {}),  # with default
        (ORDER, add("gift_wrap", "boolean", default=False), True, {}),  # with default
        # outputs: BACKWARD (the topic's old records read with the new schema)
        (CARGO, remove("name"), True, {}),  # a removed item: the reader skips it
        (CARGO, remove("address"), True, {}),  # likewise
        (CARGO, add("region_band", "string"), False, {}),  # added without default
        (CARGO, add("region_band", NULL_STRING, default=None), True, {}),
        (CARGO, retype("phone", "int"), False, {}),  # string -> int
        (CARGO, retype("phone", NULL_STRING), True, {}),  # made nullable: a widening
        (CARGO, rename("name", "full_name"), False, {}),  # rename without alias
        # audit: BACKWARD (three years of records of provision stay readable)
        (AUDIT, add("reviewed", "boolean", default=False), True, {}),  # a new audit field
        (AUDIT, add("reviewed", "boolean"), False, {}),  # ...without default
        (AUDIT, retype("state_change", "string"), False, {"state_change": None}),  # not null
        (AUDIT, retype("decisions[].outcome", "boolean"), False, {}),  # nested type change
        (AUDIT, remove("decisions[].topic"), True, {}),  # a removed nested field
        # dlq: BACKWARD
        (DLQ, retype("partition", ["null", "long"], default=None), True, {}),  # int -> long
        (DLQ, retype("offset", "long"), False, {"offset": None}),  # null no longer allowed
        (DLQ, add("attempt", "int"), False, {}),  # added without default
    ],
)
def test_when_a_released_schema_changes_then_the_check_and_the_data_agree(
    name: str, change: Callable[[Schema], None], compatible: bool, witness: dict[str, Any]
) -> None:
    rule = RULES[name.split("/")[0]]
    released = _load(RELEASED_DIR / name)
    current = copy.deepcopy(released)
    change(current)
    problems = incompatibilities(released, current, rule)
    assert (problems == []) is compatible, problems
    failures = []
    for writer, reader in _directions(released, current, rule):
        try:
            _round_trip(writer, reader, witness)
        except Exception as exc:  # fastavro raises several types
            failures.append(type(exc).__name__)
    assert (failures == []) is compatible, f"fastavro disagrees: {failures}"


# Releasing ---------------------------------------------------------------------------------


def _copy_released(tmp_path: Path) -> Path:
    """A schemas folder equal to the released set (whatever the working tree holds)."""
    current = tmp_path / "schemas"
    for kind in KINDS:
        shutil.copytree(RELEASED_DIR / kind, current / kind)
    return current


@pytest.mark.parametrize(
    ("removed", "problem"),
    [
        ("output/septem-cargo.fulfilment.orders.avsc", None),  # a route withdrawn: allowed
        ("input/ConsentChange.avsc", "input/ConsentChange.avsc (FULL): removed"),  # never
        ("audit/AuditRecord.avsc", "audit/AuditRecord.avsc (BACKWARD): removed"),  # never
    ],
)
def test_when_a_released_schema_disappears_then_only_an_output_may(
    tmp_path: Path, removed: str, problem: str | None
) -> None:
    current = _copy_released(tmp_path)
    released = tmp_path / "released"
    release(current, released)
    assert release_problems(released, current) == []
    (current / removed).unlink()
    found = [str(p) for p in release_problems(released, current)]
    assert found == ([problem] if problem else [])


@pytest.mark.parametrize(
    ("flags", "exit_code", "released_changes"),
    [
        ([], 1, False),  # the check alone: reports the break, changes nothing
        (["--release"], 1, False),  # release refuses a break
        (["--release", "--allow-breaking"], 0, True),  # a deliberate break is released
    ],
)
def test_when_a_breaking_change_is_released_then_only_a_deliberate_release_takes_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    exit_code: int,
    released_changes: bool,
) -> None:
    current = _copy_released(tmp_path)
    released = tmp_path / "released"
    release(current, released)
    order = current / ORDER
    schema = _load(order)
    remove("email")(schema)
    order.write_text(json.dumps(schema))
    args = ["schemas", "--schemas", str(current), "--released", str(released), *flags]
    assert main(args) == exit_code
    err = capsys.readouterr().err
    assert "(FULL): FORWARD: a field the writer lacks has no default at email" in err
    assert ("email" not in (released / ORDER).read_text()) is released_changes
    assert (released / "RELEASE").read_text().startswith("released ")
