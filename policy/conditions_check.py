"""Whether a policy's conditions (``when`` of tagging rules and routes) can ever hold: every
field they test is classified, and every value they name is one a valid record can carry in
that field — its enum's values, an assigned ISO code in upper case, a whole number in range
(``condition_faults``), and of the field's Avro type (``type_faults``, with the schemas). A test
on ``country: jp`` would otherwise pass ``check-policy`` and its route silently never fire.

>>> from policy.models import InputTopic
>>> spec = InputTopic(record="R", fields={"country": "region"},
...                   formats={"country": "iso_3166_1_alpha_2"})
>>> value_fault(spec, "country", "jp")
"'jp' is not an assigned ISO 3166-1 alpha-2 code in upper case (JP?): the test never holds"
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.input_rules import FORMATS
from policy.input_schemas import AvroSchema, schema_fields
from policy.models import Alternatives, InputTopic, Policy, Scalar

#: Avro types a condition can test, and the Python type a literal must have to equal a value.
LITERAL_TYPES: Mapping[str, type] = {"string": str, "boolean": bool, "int": int, "long": int}


def condition_faults(
    policy: Policy, topic: str, when: Alternatives | None, where: str
) -> list[str]:
    """Faults of a condition: its fields must be classified, and every value it names must be
    one the field can hold (an enum's values, an ISO code, a number in range): a test against a
    value no valid record has never holds, and its route would never fire without a word."""
    spec = policy.inputs.get(topic)
    if when is None or spec is None:
        return []
    faults: list[str] = []
    for i, alternative in enumerate(when):
        for field, test in alternative.items():
            if field not in spec.fields:
                faults.append(f"{where}[{i}].{field}: not a field of {topic}")
                continue
            faults += [
                f"{where}[{i}].{field}: {problem}"
                for value in test.values()
                if (problem := value_fault(spec, field, value))
            ]
    return faults


def value_fault(spec: InputTopic, field: str, value: Scalar) -> str | None:
    """Why no valid record holds ``value`` in ``field`` (its enum, format or range), or None."""
    allowed = spec.enums.get(field)
    if allowed is not None and value not in allowed:
        return f"{value!r} is not one of {', '.join(allowed)}"
    format_name = spec.formats.get(field)
    if format_name is not None:
        codes, described = FORMATS[format_name]
        if value not in codes:
            near = (
                f" ({value.upper()}?)" if isinstance(value, str) and value.upper() in codes else ""
            )
            return f"{value!r} is not {described}{near}: the test never holds"
    bounds = spec.ranges.get(field)
    if bounds is not None:
        low, high = bounds
        if type(value) is not int:
            return f"{value!r} is not a whole number ({field} ranges over {low}..{high or ''})"
        if value < low or (isinstance(high, int) and value > high):
            return f"{value} is outside {low}..{high or ''}: the test never holds"
    return None


def type_faults(policy: Policy, schemas: Mapping[str, AvroSchema]) -> list[str]:
    """Condition values of another type than their field's (``"true"`` for a boolean, ``1``
    for a string): such a test never holds (conditions compare without conversion)."""
    faults: list[str] = []
    for topic, when, where in _conditions(policy):
        spec = policy.inputs.get(topic)
        schema = schemas.get(spec.record) if spec else None
        if schema is None or when is None:
            continue
        declared = schema_fields(schema)
        for i, alternative in enumerate(when):
            for field, test in alternative.items():
                kind = _scalar_type(declared[field]["type"]) if field in declared else None
                wanted = LITERAL_TYPES.get(kind or "")
                faults += [
                    f"{where}[{i}].{field}: {value!r} is no {kind}, but {field} is: the test "
                    "never holds"
                    for value in test.values()
                    if wanted is not None and type(value) is not wanted
                ]
    return faults


def _conditions(policy: Policy) -> Iterator[tuple[str, Alternatives | None, str]]:
    for topic, rules in policy.tagging.items():
        for i, rule in enumerate(rules):
            yield topic, rule.when, f"tagging.{topic}[{i}].when"
    for index, route in enumerate(policy.routes):
        yield route.source, route.when, f"routes[{index}].when"


def _scalar_type(avro_type: Any) -> str | None:
    """The field's type name when it is one scalar (nullable or not), else None."""
    if isinstance(avro_type, list):
        branches = [b for b in avro_type if b != "null"]
        return _scalar_type(branches[0]) if len(branches) == 1 else None
    if isinstance(avro_type, Mapping):
        return "string" if avro_type.get("type") == "enum" else None
    return str(avro_type)
