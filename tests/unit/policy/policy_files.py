"""Policy files for the tests: the shipped policy as data, a route, a variant written to disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from policy.loader import DEFAULT_POLICY

Doc = dict[str, Any]


def shipped() -> Doc:
    document: Doc = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    return document


def route(doc: Doc, recipient: str, purpose: str, source: str = "orders") -> Doc:
    found: Doc = next(
        r
        for r in doc["routes"]
        if (r["recipient"], r["purpose"], r["source"]) == (recipient, purpose, source)
    )
    # YAML anchors share one dict between routes; a test edits only this route's copy.
    found["fields"] = dict(found["fields"])
    return found


def write(tmp_path: Path, doc: Doc) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path
