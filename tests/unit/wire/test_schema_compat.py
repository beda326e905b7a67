"""Every schema stays backward compatible with its last committed version (git HEAD): data
written with the committed schema reads with the working tree's."""

from __future__ import annotations

import json
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from streams.wire.store import KINDS, SCHEMAS_DIR
from tests.unit.wire.compat import backward_incompatibilities
from tests.unit.wire.samples import filled

REPO = SCHEMAS_DIR.parent
SCHEMA_FILES = sorted(p for kind in KINDS for p in (SCHEMAS_DIR / kind).glob("*.avsc"))


def _committed(path: Path) -> dict[str, Any] | None:
    """The schema as committed at HEAD, or None when HEAD has no such file (a new schema)."""
    relative = path.relative_to(REPO).as_posix()
    try:
        shown = subprocess.run(
            ["git", "-C", str(REPO), "show", f"HEAD:{relative}"],
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("git is not available")
    if shown.returncode != 0:
        if b"not a git repository" in shown.stderr:
            pytest.skip("not a git work tree")
        return None
    loaded: dict[str, Any] = json.loads(shown.stdout)
    return loaded


def _write_old_read_new(old: dict[str, Any], new: dict[str, Any]) -> Any:
    out = BytesIO()
    schemaless_writer(out, parse_schema(old, named_schemas={}), filled(old))
    out.seek(0)
    return schemaless_reader(
        out, parse_schema(old, named_schemas={}), parse_schema(new, named_schemas={})
    )


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.relative_to(SCHEMAS_DIR).as_posix())
def test_when_schema_changed_then_it_reads_data_of_its_committed_version(path: Path) -> None:
    # one row per schema file; a file HEAD does not have yet has nothing to stay compatible with
    old = _committed(path)
    if old is None:
        return
    new = json.loads(path.read_text(encoding="utf-8"))
    assert backward_incompatibilities(old, new) == []
    _write_old_read_new(old, new)


BASE: dict[str, Any] = {
    "type": "record",
    "name": "R",
    "fields": [{"name": "a", "type": "string"}, {"name": "n", "type": "int"}],
}


def _with(*fields: dict[str, Any]) -> dict[str, Any]:
    return {**BASE, "fields": list(fields)}


A = {"name": "a", "type": "string"}
N = {"name": "n", "type": "int"}


@pytest.mark.parametrize(
    ("new", "compatible"),
    [
        (_with(A, N), True),  # unchanged
        (_with(A), True),  # a field removed: the reader skips it
        (
            _with(A, N, {"name": "b", "type": ["null", "string"], "default": None}),
            True,
        ),  # added w/ default
        (_with(A, N, {"name": "b", "type": "string"}), False),  # added without default
        (_with(A, {"name": "n", "type": "long"}), True),  # int promoted to long
        (_with(A, {"name": "n", "type": "string"}), False),  # int to string
        (_with({"name": "a", "type": ["null", "string"]}, N), True),  # made nullable
        (_with({"name": "b", "type": "string"}, N), False),  # renamed without alias
    ],
)
def test_when_schema_evolves_then_checker_and_data_agree(
    new: dict[str, Any], compatible: bool
) -> None:
    problems = backward_incompatibilities(BASE, new)
    assert (problems == []) is compatible
    if compatible:
        _write_old_read_new(BASE, new)
    else:
        with pytest.raises(Exception):  # noqa: B017 - fastavro raises several types
            _write_old_read_new(BASE, new)
