"""Input validation: a decoded value becomes an ``InputEvent`` or an ``Invalid`` (never raises).

Types come from the input ``.avsc`` schemas, allowed values from the policy (``inputs.*.enums``
and the consent scopes). JSON files carry timestamps as ISO-8601 strings; they become aware UTC
datetimes here. Error messages name the field, never its value: values are personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, NamedTuple, Protocol, cast, get_args

from policy.errors import ValidationErrorKind as ErrorKind
from policy.input_rules import (
    DEFAULT_LIMITS,
    SAFE_KEY,
    Check,
    InputLimits,
    content_fault,
    future_fault,
    value_checks,
)
from policy.input_schemas import AvroSchema, schema_fields
from policy.models import Policy
from policy.rules import consent_scopes
from policy.topics import CONSENTS
from policy.type_checks import Check as QuickCheck
from policy.type_checks import is_timestamp as _is_timestamp
from policy.type_checks import parse_timestamp as _timestamp
from policy.type_checks import quick_check
from policy.type_checks import type_fault as _type_fault

_KINDS: Final = frozenset(get_args(ErrorKind))


class InputEvent(NamedTuple):
    """A valid input record: its topic and a new dict (the caller's value is not touched)."""

    topic: str
    value: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.value["event_id"])

    @property
    def customer_id(self) -> str:
        return str(self.value["customer_id"])

    @property
    def event_time(self) -> datetime:
        moment: datetime = self.value["event_time"]
        return moment


class Invalid(NamedTuple):
    """Why a record cannot be processed; becomes a ``purposegate.dlq`` record
    (``wire.deadletter``)."""

    error: str
    error_kind: ErrorKind


@dataclass(frozen=True, slots=True)
class TopicRules:
    """Everything validation needs about one input topic, prepared once."""

    topic: str
    fields: tuple[tuple[str, Any, bool, Any], ...]  # name, avro type, has default, default
    enums: Mapping[str, frozenset[str]]
    checks: tuple[Check, ...]  # the policy's ranges and formats
    timestamps: frozenset[str]
    limits: InputLimits = DEFAULT_LIMITS
    #: every key the policy classifies in this topic's records, at any depth (a fault names
    #: no other key: an unclassified key is a producer's data)
    names: frozenset[str] = frozenset()
    #: per field of ``fields``: a quick check that passes only fitting values (``type_checks``)
    quick: tuple[QuickCheck | None, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "quick", tuple(quick_check(f[1]) for f in self.fields))


def build_topic_rules(
    policy: Policy, schemas: Mapping[str, AvroSchema], limits: InputLimits = DEFAULT_LIMITS
) -> dict[str, TopicRules]:
    """Validation rules of every input topic whose schema is known."""
    rules: dict[str, TopicRules] = {}
    for topic, spec in policy.inputs.items():
        schema = schemas.get(spec.record)
        if schema is None:
            continue
        declared = schema_fields(schema)
        enums = {name: frozenset(values) for name, values in spec.enums.items()}
        if "scope" in declared and topic == CONSENTS:
            enums["scope"] = frozenset(consent_scopes(policy))
        rules[topic] = TopicRules(
            topic=topic,
            fields=tuple(
                (name, f["type"], "default" in f, f.get("default")) for name, f in declared.items()
            ),
            enums=enums,
            checks=value_checks(spec),
            timestamps=frozenset(n for n, f in declared.items() if _is_timestamp(f["type"])),
            limits=limits,
            names=frozenset(spec.fields).union(*(nested for nested in spec.nested.values())),
        )
    return rules


class HasTopicRules(Protocol):
    """What ``validate`` needs of a ``policy.compile.CompiledPolicy``."""

    @property
    def topic_rules(self) -> Mapping[str, TopicRules]: ...


def validate(
    topic: str, value: Mapping[str, Any], compiled: HasTopicRules, now: datetime
) -> InputEvent | Invalid:
    """The record as an ``InputEvent``, or why not; ``now`` is the processing clock."""
    rules = compiled.topic_rules.get(topic)
    if rules is None:
        named = f"'{topic}'" if isinstance(topic, str) and SAFE_KEY.fullmatch(topic) else "named"
        return Invalid(f"unknown input topic {named}", "unknown_topic")
    if not isinstance(value, Mapping):
        return Invalid(f"{topic}: the value is not a record", "not_a_record")
    return validate_with(rules, value, now)


def validate_with(
    rules: TopicRules, value: Mapping[str, Any], now: datetime
) -> InputEvent | Invalid:
    content = content_fault(value, rules.limits, rules.names)
    if content is not None:
        return Invalid(f"{rules.topic}: {content.text}", _kind(content.kind))
    record = dict(value)
    for (name, avro_type, has_default, default), quick in zip(
        rules.fields, rules.quick, strict=True
    ):
        if name not in record:
            if not has_default:
                return Invalid(f"{rules.topic}: field '{name}' is missing", "missing_field")
            record[name] = default
            continue
        if name in rules.timestamps:
            moment = _timestamp(record[name])
            if moment is None:
                return Invalid(
                    f"{rules.topic}: field '{name}' must be an ISO-8601 UTC timestamp", "wrong_type"
                )
            record[name] = moment
            continue
        if quick is not None and quick(record[name]):
            continue  # fits: the walk below would find nothing
        fault = _type_fault(avro_type, record[name], name)
        if fault is not None:
            kind: ErrorKind = "missing_field" if fault.endswith("is missing") else "wrong_type"
            return Invalid(f"{rules.topic}: {fault}", kind)
    invalid = _value_fault(rules, record, now)
    return invalid if invalid is not None else InputEvent(rules.topic, record)


def _value_fault(rules: TopicRules, record: Mapping[str, Any], now: datetime) -> Invalid | None:
    for name in ("event_id", "customer_id"):
        if record.get(name) == "":
            return Invalid(f"{rules.topic}: field '{name}' is empty", "missing_field")
    for name, allowed in rules.enums.items():
        if record.get(name) is not None and record[name] not in allowed:
            return Invalid(
                f"{rules.topic}: field '{name}' is not one of {', '.join(sorted(allowed))}",
                "unknown_enum",
            )
    for check in rules.checks:
        fault = check(record, now)
        if fault is not None:
            return Invalid(f"{rules.topic}: {fault.text}", _kind(fault.kind))
    future = future_fault(record["event_time"], now, rules.limits)
    if future is not None:
        return Invalid(f"{rules.topic}: {future}", "event_time_in_future")
    return None


def _kind(name: str) -> ErrorKind:
    """An input rule's error kind, checked against the one closed list (``policy.errors``)."""
    if name not in _KINDS:  # pragma: no cover - a programming fault in policy.input_rules
        raise ValueError(f"unknown error kind {name!r}")
    return cast(ErrorKind, name)
