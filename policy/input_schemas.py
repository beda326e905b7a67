"""The five input Avro schemas (``schemas/input/*.avsc``), read as the source of field types.

Only the JSON of the ``.avsc`` files is read here (no Avro library): validation needs the field
names, types and defaults, and ``check-policy`` needs to compare them with the policy. This is
also the one reader of ``.avsc`` files and the one place that knows where ``schemas/`` is: the
wire's ``SchemaStore`` reads every kind of schema through ``read_avsc``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final

from policy.errors import ConfigError
from policy.models import Policy

AvroSchema = Mapping[str, Any]


#: ``schemas/`` of the installed ``schemas`` package: input, output, audit and dlq records.
SCHEMAS_DIR: Final = Path(str(resources.files("schemas")))


def default_schemas_dir() -> Path:
    """``schemas/input`` of the installed ``schemas`` package."""
    return SCHEMAS_DIR / "input"


def read_avsc(path: Path) -> Any:
    """The JSON of one ``.avsc`` file; ``ConfigError`` naming the file when it is unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read schema: {exc}") from None


def load_input_schemas(schemas_dir: Path | None = None) -> dict[str, AvroSchema]:
    """Every ``*.avsc`` record in the directory, by record name."""
    directory = schemas_dir or default_schemas_dir()
    if not directory.is_dir():
        raise ConfigError(f"input schemas: no directory {directory}")
    schemas: dict[str, AvroSchema] = {}
    for path in sorted(directory.glob("*.avsc")):
        try:
            schema = read_avsc(path)
        except ConfigError as exc:
            raise ConfigError(f"input schemas: {path.name} is not readable JSON ({exc})") from exc
        if not isinstance(schema, dict) or schema.get("type") != "record":
            raise ConfigError(f"input schemas: {path.name} is not an Avro record")
        schemas[str(schema["name"])] = schema
    return schemas


def schema_fields(schema: AvroSchema) -> dict[str, Mapping[str, Any]]:
    """The record's field declarations by name, in schema order."""
    return {str(f["name"]): f for f in schema.get("fields", ())}


def nested_records(schema: AvroSchema) -> dict[str, AvroSchema]:
    """Every record inside the schema's fields, at any depth, by path: ``items[]`` (entries of
    an array), ``x{}`` (values of a map), ``x`` (a record field); deeper: ``items[].y[]``."""
    found: dict[str, AvroSchema] = {}

    def visit(path: str, avro_type: Any) -> None:
        if isinstance(avro_type, list):
            for branch in avro_type:
                visit(path, branch)
        elif isinstance(avro_type, Mapping):
            kind = avro_type.get("type")
            if kind == "array":
                visit(f"{path}[]", avro_type.get("items"))
            elif kind == "map":
                visit(f"{path}{{}}", avro_type.get("values"))
            elif kind == "record":
                found[path] = avro_type
                for name, declared in schema_fields(avro_type).items():
                    visit(f"{path}.{name}", declared["type"])

    for name, declared in schema_fields(schema).items():
        visit(name, declared["type"])
    return found


def schema_faults(policy: Policy, schemas: Mapping[str, AvroSchema]) -> list[str]:
    """Where the policy and the input schemas disagree, at every depth: schema fields with no
    data category, classified fields the schema does not have."""
    faults: list[str] = []
    for topic, spec in policy.inputs.items():
        schema = schemas.get(spec.record)
        if schema is None:
            faults.append(f"inputs.{topic}: no input schema {spec.record}.avsc")
            continue
        faults += _unclassified(f"inputs.{topic}.fields", spec.record, schema, spec.fields, "")
        nested = nested_records(schema)
        for path, record in nested.items():
            keys = spec.nested.get(path, {})
            faults += _unclassified(
                f"inputs.{topic}.nested.{path}", spec.record, record, keys, path
            )
        faults += [
            f"inputs.{topic}.nested.{path}: {spec.record}.avsc has no record at '{path}'"
            for path in spec.nested
            if path not in nested
        ]
    records = {spec.record for spec in policy.inputs.values()}
    faults += [
        f"schemas: {name}.avsc is no input topic's record in the policy"
        for name in schemas
        if name not in records
    ]
    return faults


def _unclassified(
    where: str, record: str, schema: AvroSchema, classified: Mapping[str, str], path: str
) -> list[str]:
    declared = schema_fields(schema)
    prefix = f"{path}." if path else ""
    faults = [
        f"{where}: schema field '{prefix}{name}' of {record} has no data category"
        for name in declared
        if name not in classified
    ]
    faults += [
        f"{where}.{name}: not a field of {record}.avsc"
        for name in classified
        if name not in declared
    ]
    return faults
