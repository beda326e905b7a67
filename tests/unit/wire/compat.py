"""Backward compatibility of a schema change: can the new schema read what the old one wrote?

Structural check by Apache Avro's own ``ReaderWriterCompatibilityChecker`` (the Java rules:
added fields need defaults, promotions int→long→float→double, string↔bytes, unions...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType


def backward_incompatibilities(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Why data written with ``old`` cannot be read with ``new``; [] when it can."""
    writer = avro.schema.parse(json.dumps(old))
    reader = avro.schema.parse(json.dumps(new))
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    return sorted(result.messages) or ["incompatible"]
