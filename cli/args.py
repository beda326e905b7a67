"""Argument types every command shares. Each checks one argument when argparse reads it and, when
it is unusable, raises ``ArgumentTypeError`` with one line that names the problem; ``main`` prints
it after the argument's name and exits 2. Commands never check files or numbers themselves.

>>> count(1)("3")
3
>>> count(1)("-1")
Traceback (most recent call last):
argparse.ArgumentTypeError: expected a whole number of at least 1, got '-1'
"""

from __future__ import annotations

import argparse
import json
import os
import stat
from collections.abc import Callable, Container
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import yaml

from policy import topics
from policy.loader import yaml_error
from wire.jsonl import BOM
from wire.jsonvalues import parse_timestamp

#: Enough of a file to tell text from binary and to read its first line.
SNIFF_BYTES: Final = 65_536
STDIN: Final = "-"

Check = Callable[[Path, bytes], str | None]


def count(minimum: int) -> Callable[[str], int]:
    """A whole number ≥ ``minimum`` (``--customers``, ``--max``, ...)."""

    def parse(text: str) -> int:
        try:
            number = int(text, 10)
        except ValueError:
            number = None
        if number is None or number < minimum:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of at least {minimum}, got {text!r}"
            )
        return number

    return parse


def port(text: str) -> int:
    """A TCP port, 1..65535."""
    number = count(1)(text)
    if number > 65_535:
        raise argparse.ArgumentTypeError(f"expected a port of 1..65535, got {text!r}")
    return number


def text_arg(text: str) -> str:
    """A non-blank string (an event id, a topic name)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a non-empty value")
    return text


def timestamp(text: str) -> datetime:
    """A point in time: ISO-8601, a date or a date and time (``Z`` or an offset; none means
    UTC), e.g. ``2026-11-24`` or ``2026-11-24T09:30:00Z``.

    >>> timestamp("2026-11-24").isoformat()
    '2026-11-24T00:00:00+00:00'
    >>> timestamp("2026-11-24T18:30:00+09:00").isoformat()
    '2026-11-24T09:30:00+00:00'
    """
    parsed = parse_timestamp(text.strip())
    if parsed is None:
        raise argparse.ArgumentTypeError(
            f"expected an ISO-8601 time such as 2026-11-24 or 2026-11-24T09:30:00Z, got {text!r}"
        )
    return parsed


def input_file(check: Check | None = None, *, stdin: bool = False) -> Callable[[str], Path]:
    """A file to read: it exists, is no directory, can be read, is not empty and holds text;
    ``check(path, first bytes)`` then names what else is wrong with it, or returns None.

    A pipe or device (``<(zcat ...)``) is accepted unread: reading would consume it.
    """

    def parse(text: str) -> Path:
        if stdin and text == STDIN:
            return Path(STDIN)
        path = Path(text)
        head = _head(path)
        if head is not None and check is not None:
            problem = check(path, head)
            if problem:
                raise argparse.ArgumentTypeError(f"{path}: {problem}")
        return path

    return parse


def _head(path: Path) -> bytes | None:
    """The first bytes of a regular file (None for a pipe or device); raises with the problem."""
    mode = _mode(path)
    if stat.S_ISDIR(mode):
        raise argparse.ArgumentTypeError(f"{path} is a directory, not a file")
    if not stat.S_ISREG(mode):
        if not _may(path, os.R_OK):
            raise argparse.ArgumentTypeError(f"cannot read {path}: permission denied")
        return None
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {_reason(exc)}") from None
    if not head.strip():
        raise argparse.ArgumentTypeError(f"{path} is empty")
    if b"\x00" in head:
        raise argparse.ArgumentTypeError(f"{path} is not a text file (it holds NUL bytes)")
    return head


def _mode(path: Path) -> int:
    mode = _mode_or_none(path)
    if mode is None:
        raise argparse.ArgumentTypeError(f"no such file: {path}")
    return mode


def _mode_or_none(path: Path) -> int | None:
    """The file's mode, None when nothing is there; any other failure names its reason."""
    try:
        return path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot use {path}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def output_file(text: str) -> Path:
    """A file to (over)write: not a directory, its parent a directory or creatable. ``-`` is
    returned as is (stdout, where the command allows it)."""
    path = Path(text)
    if text == STDIN:
        return path
    mode = _mode_or_none(path)
    if mode is not None and stat.S_ISDIR(mode):
        raise argparse.ArgumentTypeError(f"{path} is a directory; give a file name")
    _check_parent(path)
    if mode is not None and not _may(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {path}: permission denied")
    return path


def output_dir(text: str) -> Path:
    """A directory to write into: existing or creatable, never a file."""
    path = Path(text)
    mode = _mode_or_none(path)
    if mode is not None and not stat.S_ISDIR(mode):
        raise argparse.ArgumentTypeError(f"{path} is a file, not a directory")
    if mode is not None and not _may(path, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write in {path}: permission denied")
    _check_parent(path)
    return path


def input_dir(text: str) -> Path:
    """An existing directory to read."""
    path = Path(text)
    mode = _mode(path)
    if not stat.S_ISDIR(mode):
        raise argparse.ArgumentTypeError(f"{path} is a file, not a directory")
    try:
        with os.scandir(path) as entries:
            next(entries, None)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {path}: {_reason(exc)}") from None
    return path


def _may(path: Path, mode: int) -> bool:
    """``os.access`` for the effective user (the one that opens the file)."""
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)


def _check_parent(path: Path) -> None:
    """The nearest existing ancestor is a directory (the command creates the rest)."""
    for parent in path.absolute().parents:
        mode = _mode_or_none(parent)
        if mode is not None:
            if not stat.S_ISDIR(mode):
                raise argparse.ArgumentTypeError(f"{parent} is a file, not a directory")
            return


# What each command expects inside a file, checked on its first line only: a whole-file check
# would read gigabytes before the first record; later lines are the command's to judge.


def first_json(head: bytes) -> Any:
    """The first non-blank line of ``head`` as JSON, or None when it is not JSON (a UTF-8 byte
    order mark before it is not part of it)."""
    for raw in head.removeprefix(BOM).splitlines():
        if raw.strip():
            try:
                return json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                return None
    return None


def line_topic(head: bytes) -> str | None:
    document = first_json(head)
    if isinstance(document, dict) and isinstance(document.get("topic"), str):
        return str(document["topic"])
    return None


def is_output_topic(topic: str) -> bool:
    office = (topics.AUDIT, topics.DLQ, topics.POLICIES, topics.SHADOW, topics.ERASURES)
    return topic in office or topic.startswith(topics.SHARED_PREFIX)


def input_lines(path: Path, head: bytes) -> str | None:
    """Contract input lines: a file of purposegate's outputs is refused (a line that is not
    JSON at all is the DLQ's, so that one broken first line does not stop a run)."""
    topic = line_topic(head)
    if topic is not None and is_output_topic(topic):
        return f'holds {topic} records, not input lines ({{"topic": "orders", ...}})'
    return None


def records_of(wanted: Container[str], name: str) -> Check:
    """Lines of one of purposegate's own topics, as ``dry-run`` and ``dump`` write them."""

    def check(path: Path, head: bytes) -> str | None:
        topic = line_topic(head)
        if topic in wanted:
            return None
        found = f"its first line is a record of {topic}" if topic else "its first line is no record"
        return f"not {name} ({found})"

    return check


def yaml_mapping(path: Path, head: bytes) -> str | None:
    """A policy file: YAML whose top level is a mapping (its entries are check-policy's)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return f"not a policy file (not valid YAML: {yaml_error(exc)})"
    except UnicodeDecodeError:
        return "not a policy file (not valid YAML)"
    if not isinstance(document, dict):
        return "not a policy file (not a YAML mapping of sections)"
    return None


def yaml_cases(path: Path, head: bytes) -> str | None:
    """A case file: YAML whose top level is a mapping with ``cases`` (the rest is the
    command's to judge, entry by entry)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return f"not a case file (not valid YAML: {yaml_error(exc)})"
    except UnicodeDecodeError:
        return "not a case file (not valid YAML)"
    if not isinstance(document, dict) or "cases" not in document:
        return "not a case file (no top-level 'cases:')"
    return None


#: The argument types by what they hold, for ``add_argument(type=...)``.
INPUT_LINES: Final = input_file(input_lines)
INPUT_LINES_OR_STDIN: Final = input_file(input_lines, stdin=True)
AUDIT_FILE: Final = input_file(records_of((topics.AUDIT,), "an audit file"))
POLICY_FILE: Final = input_file(yaml_mapping)
ANY_FILE: Final = input_file()
CASES_FILE: Final = input_file(yaml_cases)
KEPT_POLICIES_FILE: Final = input_file(records_of((topics.POLICIES,), "a policy history file"))


def policy_history(text: str) -> Path:
    """A directory of policy YAML files, or a JSON-lines file of ``purposegate.policies``
    records (as ``dry-run`` and ``dump purposegate.policies`` write them)."""
    mode = _mode_or_none(Path(text))
    return input_dir(text) if mode and stat.S_ISDIR(mode) else KEPT_POLICIES_FILE(text)
