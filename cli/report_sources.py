"""Where ``purposegate report`` reads a subject's records: the audit and the DLQ, on Kafka (the
one partition the subject's key lives in) or in files (an audit file and the DLQ file a dry run
writes beside it). Only records keyed by the subject are decoded."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from broker.partitions import read_key
from config.settings import Settings
from policy import topics
from policy.errors import ConfigError, PurposegateError
from wire import Codec, Decoded, SchemaStore
from wire.headers import POLICY_VERSION
from wire.jsonl import read_lines
from wire.jsonvalues import to_json

DLQ_BESIDE_AUDIT = f"{topics.DLQ}.jsonl"


def subject_lines(path: Path, subject: str) -> Iterator[Mapping[str, Any]]:
    """The audit values in ``path`` keyed by ``subject``: a line is parsed only when it holds the
    subject's id as JSON writes it; ``ConfigError`` at such a line that is no audit record."""
    for number, document in _keyed_lines(path, subject):
        value = document.get("value")
        if document.get("topic") != topics.AUDIT or not _audit(value):
            raise ConfigError(f"{path} is not an audit file: line {number} is no audit record")
        if document.get("key") == subject and isinstance(value, dict):
            yield value


def dead_letters_beside(audit: Path, subject: str) -> Iterator[Mapping[str, Any]]:
    """The subject's DLQ values in the ``purposegate.dlq.jsonl`` beside an audit file (none when
    there is no such file), found by the input's key."""
    path = audit.parent / DLQ_BESIDE_AUDIT
    if not path.is_file():
        return
    for _, document in _keyed_lines(path, subject):
        value = document.get("value")
        if document.get("key") == subject and isinstance(value, dict):
            yield value


def _keyed_lines(path: Path, subject: str) -> Iterator[tuple[int, dict[str, Any]]]:
    needles = {json.dumps(subject, ensure_ascii=a).encode() for a in (False, True)}
    for number, raw in read_lines(path):
        if not any(n in raw for n in needles):
            continue
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            document = None
        if not isinstance(document, dict):
            raise ConfigError(f"{path}: line {number} is not a JSON record")
        yield number, document


def _audit(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("decisions"), list)


class KafkaAudit:
    """The subject's audit values on Kafka, how many did not decode, the first time each policy
    version decided on that partition, and the subject's dead letters."""

    def __init__(self, settings: Settings, subject: str) -> None:
        self.settings, self.subject = settings, subject
        self.firsts: dict[bytes, int] = {}
        partition, self.raw = read_key(settings, topics.AUDIT, subject.encode(), self._note)
        self.where = f"topic {settings.topic(topics.AUDIT)}, partition {partition}"
        self.codec = Codec(SchemaStore.load(), settings)
        self.unreadable = 0

    def _note(self, record: Any) -> None:
        for name, version in record.headers or ():
            if name == POLICY_VERSION:
                known = self.firsts.get(version)
                if known is None or record.timestamp < known:
                    self.firsts[version] = record.timestamp

    def first_use(self) -> dict[str, datetime]:
        """Each version's first audit record on the subject's partition. Customers spread over
        every partition, so on a live stream this is the day the version began deciding."""
        return {
            version.decode("ascii", "replace"): datetime.fromtimestamp(ms / 1000, UTC)
            for version, ms in self.firsts.items()
        }

    def values(self) -> Iterator[Mapping[str, Any]]:
        for raw in self.raw:
            decoded = self.codec.decode(raw) if raw is not None else None
            if isinstance(decoded, Decoded):
                yield to_json(decoded.value)
            else:
                self.unreadable += 1

    def dead_letters(self) -> Iterator[Mapping[str, Any]]:
        """The subject's DLQ values (none when the topic does not exist)."""
        try:
            _, raw = read_key(self.settings, topics.DLQ, self.subject.encode())
        except PurposegateError as exc:
            if "unknown topic" not in str(exc):
                raise
            return
        for value in raw:
            decoded = self.codec.decode(value) if value is not None else None
            if isinstance(decoded, Decoded) and isinstance(decoded.value, dict):
                yield to_json(decoded.value)
