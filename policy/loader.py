"""Reads ``policy.yaml`` into the frozen ``Policy``; a broken file fails with every fault named.

``load_policy`` is for start-up (raises ``ConfigError``); ``check_policy`` is for the
``check-policy`` command (returns the faults, including disagreements with the input schemas).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from policy.conditions_check import type_faults
from policy.errors import ConfigError
from policy.input_schemas import load_input_schemas, schema_faults
from policy.locate import locate
from policy.models import Policy
from policy.rules import policy_faults
from policy.string_kinds import string_kind_faults

DEFAULT_POLICY = Path(__file__).resolve().parent / "policy.yaml"
VERSION_LENGTH = 16


def policy_version(document: Any) -> str:
    """The first 16 hex digits of the SHA-256 of the policy's canonical JSON.

    Canonical: keys sorted, YAML anchors expanded, comments gone; editing a comment does not
    change the version, changing any entry does.
    """
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:VERSION_LENGTH]


def load_policy(path: Path | None = None) -> Policy:
    """The policy at ``path`` (default: the shipped ``policy/policy.yaml``)."""
    policy, faults = _parse(path or DEFAULT_POLICY)
    if policy is None or faults:
        raise ConfigError(_summary(path or DEFAULT_POLICY, faults))
    return policy


def check_policy(policy_path: Path | None = None, schemas_dir: Path | None = None) -> list[str]:
    """Every fault of the policy, including disagreements with the input schemas; [] is ok."""
    policy, faults = _parse(policy_path or DEFAULT_POLICY)
    if policy is None:
        return faults
    try:
        schemas = load_input_schemas(schemas_dir)
    except ConfigError as exc:
        return [*faults, str(exc)]
    text = (policy_path or DEFAULT_POLICY).read_text(encoding="utf-8")
    found = schema_faults(policy, schemas) + type_faults(policy, schemas)
    return faults + locate(found + string_kind_faults(policy, schemas), text)


def load_policy_text(text: str, where: str) -> Policy:
    """The policy in ``text`` (a kept version, ``policy.history``); ``where`` names its source."""
    policy, faults = _parse_text(text, where)
    if policy is None or faults:
        raise ConfigError(_summary(where, faults))
    return policy


def _parse(path: Path) -> tuple[Policy | None, list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [f"{path}: cannot read ({exc.strerror})"]
    except UnicodeDecodeError:
        return None, [f"{path}: not UTF-8 text"]
    return _parse_text(text, str(path))


def _parse_text(text: str, path: str) -> tuple[Policy | None, list[str]]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, [f"{path}: not valid YAML ({yaml_error(exc)})"]
    if not isinstance(document, dict):
        return None, [f"{path}: the policy must be a mapping of sections"]
    try:
        policy = Policy.model_validate(document)
    except ValidationError as exc:
        return None, locate([_pydantic_fault(error) for error in exc.errors()], text)
    policy = policy.model_copy(update={"version": policy_version(document)})
    return policy, locate(policy_faults(policy), text)


def _pydantic_fault(error: Any) -> str:
    where = ""
    for part in error["loc"]:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where.lstrip('.')}: {message}"


def _summary(path: Path | str, faults: list[str]) -> str:
    if len(faults) == 1:  # one line
        fault = faults[0].removeprefix(f"{path}: ")
        return f"policy {path} has 1 fault: {fault}"
    lines = "\n  ".join(faults)
    return f"policy {path} has {len(faults)} fault(s):\n  {lines}"


def yaml_error(exc: yaml.YAMLError) -> str:
    """PyYAML's problem and where it found it: ``line 4, column 1: expected ',' or ']' ...``."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    if mark is None:
        return str(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
