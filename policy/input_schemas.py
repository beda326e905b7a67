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


def schema_faults(policy: Policy, schemas: Mapping[str, AvroSchema]) -> list[str]:
    """Where the policy and the input schemas disagree: unclassified or unknown fields."""
    faults: list[str] = []
    for topic, spec in policy.inputs.items():
        schema = schemas.get(spec.record)
        if schema is None:
            faults.append(f"inputs.{topic}: no input schema {spec.record}.avsc")
            continue
        declared = schema_fields(schema)
        faults += [
            f"inputs.{topic}.fields: schema field '{name}' of {spec.record} has no data category"
            for name in declared
            if name not in spec.fields
        ]
        faults += [
            f"inputs.{topic}.fields.{name}: not a field of {spec.record}.avsc"
            for name in spec.fields
            if name not in declared
        ]
    records = {spec.record for spec in policy.inputs.values()}
    faults += [
        f"schemas: {name}.avsc is no input topic's record in the policy"
        for name in schemas
        if name not in records
    ]
    return faults
