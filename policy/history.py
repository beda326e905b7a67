"""Every policy version that ever decided, kept by its version (the hash every audit record names).

The worker writes the text of the policy it starts with to the compacted ``purposegate.policies``
topic, keyed by version, before it decides anything; ``dry-run`` writes the same record to
``purposegate.policies.jsonl`` beside its outputs. ``explain`` looks up the version an audit
record names and never explains with another one. A text is filed under the version it hashes
to, never under a name it came with: an edited copy cannot stand in for the one that decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from policy.errors import ConfigError
from policy.loader import load_policy_text, policy_version
from policy.models import Policy

#: The fields of a ``purposegate.policies`` value (``schemas/audit/PolicyVersion.avsc``).
VERSION_FIELD = "policy_version"
TEXT_FIELD = "policy_yaml"


def read_policy(path: Path) -> tuple[Policy, str]:
    """The policy at ``path`` and the exact text it was loaded from (one read: the version kept
    is the version that decides, even if the file changes meanwhile)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise ConfigError(f"cannot read policy {path}: {reason}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"policy {path}: not UTF-8 text") from None
    return load_policy_text(text, str(path)), text


def policy_record(policy: Policy, text: str) -> dict[str, Any]:
    """The ``purposegate.policies`` value that keeps ``policy`` (loaded from ``text``)."""
    return {VERSION_FIELD: policy.version, TEXT_FIELD: text}


class PolicyHistory:
    """Kept policy texts by version; each is loaded when first asked for."""

    def __init__(self) -> None:
        self._texts: dict[str, tuple[str, str]] = {}
        self._loaded: dict[str, Policy] = {}
        self.sources: list[str] = []

    def __contains__(self, version: object) -> bool:
        return version in self._texts

    def versions(self) -> list[str]:
        """Every kept version, in the order first filed."""
        return list(self._texts)

    def add(self, text: str, where: str) -> str | None:
        """File ``text`` under its version; None when it is not a policy document at all."""
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            return None
        if not isinstance(document, dict):
            return None
        version = policy_version(document)
        self._texts.setdefault(version, (text, where))
        return version

    def add_record(self, value: Any, where: str) -> str | None:
        """A ``purposegate.policies`` value (from the topic or a JSON-lines file)."""
        text = value.get(TEXT_FIELD) if isinstance(value, dict) else None
        return self.add(text, where) if isinstance(text, str) else None

    def get(self, version: str) -> Policy:
        """The policy of ``version``; ``ConfigError`` when it is not kept or no longer loads."""
        policy = self._loaded.get(version)
        if policy is not None:
            return policy
        kept = self._texts.get(version)
        if kept is None:
            searched = "; ".join(self.sources) or "nowhere"
            raise ConfigError(
                f"the policy version that decided it, {version}, is not kept (searched: "
                f"{searched}); it is not explained with another version"
            )
        try:
            policy = load_policy_text(*kept)
        except ConfigError as exc:
            raise ConfigError(
                f"the policy version that decided it, {version}, is kept in {kept[1]} but this "
                f"purposegate cannot load it ({exc}); it is not explained with another version"
            ) from None
        self._loaded[version] = policy
        return policy


@dataclass(frozen=True)
class Use:
    """When a version decided: its first and last audit record, and how many name it.

    >>> from datetime import UTC, datetime
    >>> day = lambda d: datetime(2026, 1, d, tzinfo=UTC)
    >>> uses = fold([("v1", day(1)), ("v2", day(3)), ("v1", day(2))])
    >>> (uses["v1"].first.day, uses["v1"].last.day, uses["v1"].records)
    (1, 2, 2)
    """

    first: datetime
    last: datetime
    records: int


def fold(pairs: Iterable[tuple[str, datetime]]) -> dict[str, Use]:
    """Each version's first and last time and its count of records."""
    uses: dict[str, Use] = {}
    for version, time in pairs:
        seen = uses.get(version)
        if seen is None:
            uses[version] = Use(time, time, 1)
        else:
            uses[version] = Use(min(seen.first, time), max(seen.last, time), seen.records + 1)
    return uses
