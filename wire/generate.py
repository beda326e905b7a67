"""Output schemas generated from the policy: one record per route, in ``schemas/output/``, and
one per shared topic (the wire record, ``wire.topic_schemas``) in ``schemas/topics/``.

A route's record is the envelope (``event_id``, ``event_time``, ``source_topic``, ``purpose``,
``recipient``, ``policy_version``) and then, in the policy's order, one field per field rule
that lets something out. The output field's name comes from the operator registry
(``policy.operators``), its type from the input field's type and the operator:

==============  ===================  =======================================
operator        output field         type
==============  ===================  =======================================
keep            same name            the input field's type, as written
pseudonymise    ``subject_id``       string (``subject_pseudonym`` on a pseudonymised route)
generalise      ``<field>_band``     nullable string (e.g. "1980s"); ``by`` a key
                                     of the records a field holds: nullable
                                     array of strings (their groups)
mask, redact    same name            nullable string (redact: always null)
drop            (none)               —
==============  ===================  =======================================

Run ``python -m wire.generate`` after changing the policy; a unit test fails while the
committed files differ from what this produces.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from policy import topics
from policy.compile import ENVELOPE as ENVELOPE_FIELDS
from policy.errors import ConfigError
from policy.input_schemas import SCHEMAS_DIR
from policy.loader import load_policy
from policy.models import Policy
from policy.operators import SUBJECT_ID_KEY, field_output_key
from policy.shapes import only_keys
from wire.store import ROUTE_ATTRIBUTE, SchemaStore
from wire.topic_schemas import render_topics

OUTPUT_NAMESPACE: Final = "jp.septem.purposegate.shared"
NULLABLE_STRING: Final = ["null", "string"]


@dataclass(frozen=True)
class FieldSpec:
    """One field rule of a route: what it is called outside, where it comes from, how."""

    output_field: str
    source_field: str
    operator: str
    #: ``keep`` with ``only``: the records inside keep these keys.
    only: tuple[str, ...] | None = None
    #: ``generalise`` with ``keep_values``: the values that go as they are.
    keep_values: tuple[str, ...] | None = None
    #: ``generalise`` with ``groups``: the group names (``by``: of the records' key).
    groups: tuple[str, ...] | None = None
    by: str | None = None


@dataclass(frozen=True)
class RouteSpec:
    """The generator's view of one policy route."""

    recipient: str
    purpose: str
    source_topic: str
    fields: tuple[FieldSpec, ...]
    pseudonymised: bool = False
    time_grain: str = "day"

    @property
    def record_name(self) -> str:
        return topics.output_record(self.recipient, self.purpose, self.source_topic)

    @property
    def file_name(self) -> str:
        return f"{self.recipient}.{self.purpose}.{self.source_topic}.avsc"


def route_specs(policy: Policy) -> list[RouteSpec]:
    """The routes of the policy (fields whose operator lets nothing out skipped)."""
    specs = []
    for route in policy.routes:
        fields = []
        for source_field, rule in route.fields.items():
            output_field = field_output_key(source_field, rule.op, route.pseudonymised)
            if output_field is not None:
                groups = None if rule.groups is None else tuple(rule.groups)
                spec = FieldSpec(
                    output_field, source_field, rule.op, rule.only, rule.keep_values,
                    groups=groups, by=rule.by,
                )  # fmt: skip
                fields.append(spec)
        specs.append(
            RouteSpec(
                route.recipient,
                route.purpose,
                route.source,
                tuple(fields),
                pseudonymised=bool(route.pseudonymised),
                time_grain=route.time_grain,
            )
        )
    return specs


#: Avro type and doc of each envelope field; the names and their order are the engine's.
ENVELOPE_TYPES: Final[Mapping[str, tuple[Any, str]]] = {
    "event_id": ("string", "event_id of the input event (dedupe key)."),
    "event_time": (
        {"type": "long", "logicalType": "timestamp-millis"},
        "event_time of the input event, UTC.",
    ),
    "source_topic": ("string", "Input topic the record comes from."),
    "purpose": ("string", "Section 5 purpose id this record is for."),
    "recipient": ("string", "Recipient id (Section 6 group company)."),
    "policy_version": ("string", "Hash of the policy that decided this record."),
}
ENVELOPE: Final[tuple[dict[str, Any], ...]] = tuple(
    {"name": name, "type": ENVELOPE_TYPES[name][0], "doc": ENVELOPE_TYPES[name][1]}
    for name in ENVELOPE_FIELDS
)


#: What a pseudonymised route's envelope carries instead (docs/contract.md §3): nothing to join it
#: with the named records of other recipients.
PSEUDONYMISED_ENVELOPE_DOCS: Final = {
    "event_id": "Keyed HMAC of the input event's event_id, one key per recipient: stable (a "
    "dedupe key), not the id other recipients see.",
    "event_time": "event_time of the input event truncated to the {grain} (00:00 UTC of its "
    "first day).",
}


def output_schema(route: RouteSpec, input_schema: Mapping[str, Any]) -> dict[str, Any]:
    """The output record of one route, as JSON (``ConfigError`` for a field the input lacks)."""
    by_name = {f["name"]: f for f in input_schema["fields"]}
    fields: list[dict[str, Any]] = [dict(f) for f in ENVELOPE]
    if route.pseudonymised:
        for field in fields:
            doc = PSEUDONYMISED_ENVELOPE_DOCS.get(field["name"], field["doc"])
            field["doc"] = doc.format(grain=route.time_grain)
    for spec in route.fields:
        source = by_name.get(spec.source_field)
        if source is None:
            raise ConfigError(
                f"route {route.recipient}/{route.purpose}/{route.source_topic}: "
                f"{input_schema['name']} has no field {spec.source_field!r}"
            )
        fields.append(_output_field(spec, source, route.source_topic))
    return {
        "type": "record",
        "name": route.record_name,
        "namespace": OUTPUT_NAMESPACE,
        "doc": (
            f"Records of `{route.source_topic}` shared with {route.recipient} for "
            f"{route.purpose}, topic `{topics.shared_topic(route.recipient, route.purpose)}`"
            + (" (pseudonymised)." if route.pseudonymised else ".")
            + " Generated from policy/policy.yaml; do not edit."
        ),
        ROUTE_ATTRIBUTE: {
            "recipient": route.recipient,
            "purpose": route.purpose,
            "source_topic": route.source_topic,
            "topic": topics.shared_topic(route.recipient, route.purpose),
        },
        "fields": fields,
    }


def _output_field(spec: FieldSpec, source: Mapping[str, Any], source_topic: str) -> dict[str, Any]:
    origin = f"{source_topic}.{spec.source_field}"
    doc = str(source.get("doc", "")).strip()
    if spec.operator == "keep":
        kept = source["type"] if spec.only is None else only_keys(source["type"], spec.only)
        field = {"name": spec.output_field, "type": kept, "doc": f"{doc} (from {origin})"}
        if "default" in source:
            field["default"] = source["default"]
        return field
    if spec.operator == "pseudonymise":
        return _subject_field(spec.output_field, origin)
    if spec.operator == "generalise" and spec.by is not None:
        return _grouped_field(spec, origin)
    band = "e.g. 1980s"
    if spec.keep_values:
        band = f"{', '.join(spec.keep_values)} as it is, any other value as 'other'"
    if spec.groups:
        band = f"the name of its group ({', '.join(spec.groups)}), any other value as 'other'"
    notes = {
        "generalise": f"The band of {origin}, {band}; null when not given.",
        "mask": f"{origin} masked but for its last characters; null when not given.",
        "redact": f"{origin}, redacted: always null.",
    }
    if spec.operator not in notes:
        raise ConfigError(f"operator {spec.operator!r} has no output type")
    return {
        "name": spec.output_field,
        "type": list(NULLABLE_STRING),
        "doc": notes[spec.operator],
        "default": None,
    }


def _grouped_field(spec: FieldSpec, origin: str) -> dict[str, Any]:
    """A field holding records, generalised by one of their keys: the groups, once each."""
    groups = ", ".join(spec.groups or ())
    return {
        "name": spec.output_field,
        "type": ["null", {"type": "array", "items": "string"}],
        "doc": f"The groups of {origin}[].{spec.by} ({groups}, or 'other' for a value no group "
        "lists), each once, sorted: no line, quantity or price; null when not given.",
        "default": None,
    }


def _subject_field(name: str, origin: str) -> dict[str, Any]:
    """The subject id field. On a named route it came with revision 3 of the contract: records
    written before it read as "" (they were keyed by the customer id), so the reader's schema
    reads the topic's older records (BACKWARD)."""
    field: dict[str, Any] = {
        "name": name,
        "type": "string",
        "doc": f"The recipient's subject id: keyed HMAC of {origin}, one key per recipient, "
        "stable over time; the record key too.",
    }
    if name == SUBJECT_ID_KEY:
        field["doc"] += ' "" in records written before subject ids (keyed by customer_id).'
        field["default"] = ""
    return field


def render(policy: Policy, store: SchemaStore) -> dict[str, str]:
    """File name → JSON text of every route's output schema."""
    rendered: dict[str, str] = {}
    for route in route_specs(policy):
        if route.source_topic not in policy.inputs:
            raise ConfigError(f"route source {route.source_topic!r} is not an input topic")
        source = store.get(policy.inputs[route.source_topic].record).source
        text = json.dumps(output_schema(route, source), indent=2, ensure_ascii=False) + "\n"
        rendered[route.file_name] = text
    return rendered


def stale_files(rendered: Mapping[str, str], out_dir: Path) -> list[str]:
    """Files of ``out_dir`` that differ from ``rendered``, are missing, or are left over."""
    stale = [n for n, text in rendered.items() if _read(out_dir / n) != text]
    stale += [p.name for p in sorted(out_dir.glob("*.avsc")) if p.name not in rendered]
    return sorted(stale)


def write(rendered: Mapping[str, str], out_dir: Path) -> list[str]:
    """Make ``out_dir`` hold exactly ``rendered``; returns the names written or removed."""
    changed = stale_files(rendered, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in changed:
        if name in rendered:
            (out_dir / name).write_text(rendered[name], encoding="utf-8")
        else:
            (out_dir / name).unlink()
    return changed


def rendered_dirs(policy: Policy, store: SchemaStore) -> dict[str, dict[str, str]]:
    """Folder of ``schemas/`` → its generated files: ``output`` (one record per route) and
    ``topics`` (one record per shared topic, ``wire.topic_schemas``)."""
    routes = render(policy, store)
    return {"output": routes, "topics": render_topics(policy, routes)}


def load_checked(policy: Policy, root: Path = SCHEMAS_DIR) -> SchemaStore:
    """Every schema of ``root`` (``SchemaStore.load``), after checking that ``root/output`` and
    ``root/topics`` are what the policy's routes generate (``ConfigError`` naming the stale
    files otherwise): the wire must never carry a field the policy no longer allows."""
    store = SchemaStore.load(root)
    stale = [
        f"{folder}/{name}"
        for folder, rendered in rendered_dirs(policy, store).items()
        for name in stale_files(rendered, root / folder)
    ]
    if stale:
        raise ConfigError(
            "schemas/output or schemas/topics does not match the policy's routes (run "
            "'python -m wire.generate'): " + ", ".join(stale)
        )
    return store


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m wire.generate [--check]``: regenerate (or check) schemas/output and
    schemas/topics."""
    parser = argparse.ArgumentParser(
        prog="python -m wire.generate",
        description="Regenerate schemas/output (one schema per route) and schemas/topics (one "
        "per shared topic) from the policy.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; list the stale files on stderr and exit 1 when there are any",
    )
    check = parser.parse_args(argv).check
    dirs = rendered_dirs(load_policy(), SchemaStore.load())
    stale_count = 0
    for folder, rendered in dirs.items():
        out_dir = SCHEMAS_DIR / folder
        if check:
            for name in stale_files(rendered, out_dir):
                stale_count += 1
                print(f"stale: schemas/{folder}/{name}", file=sys.stderr)
            continue
        for name in write(rendered, out_dir):
            print(f"wrote schemas/{folder}/{name}")
    return 1 if stale_count else 0


if __name__ == "__main__":
    sys.exit(main())
