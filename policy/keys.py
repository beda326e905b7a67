"""Per-recipient keys: keyed HMAC-SHA256 of the customer id, one secret per recipient: the
recipient's subject id (``subject_id``, on a pseudonymised route ``subject_pseudonym``).

Keys come from a JSON file (``PURPOSEGATE_PSEUDONYM_KEYS_FILE``) and/or a JSON object in the
environment (``PURPOSEGATE_PSEUDONYM_KEYS``, which wins per recipient), each mapping recipient
id to a key string of at least 32 characters. Nothing here ever prints a key.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final, Protocol

from pydantic import SecretStr

from policy.errors import ConfigError

MIN_KEY_LENGTH: Final = 32
#: Pseudonyms each recipient's function remembers. Small on purpose: an HMAC costs about a
#: microsecond, and a memo of every subject (per route, per policy) was the largest thing
#: ``diff-policy`` held (issue 27: 65,536 entries of 24 functions, ~80 MB at 50k subjects).
MEMO_SIZE: Final = 4_096


class KeySettings(Protocol):
    """The part of ``config.settings.Settings`` that names the keys."""

    @property
    def pseudonym_keys_file(self) -> Path | None: ...

    @property
    def pseudonym_keys(self) -> SecretStr | None: ...


class PseudonymKeys:
    """Recipient id to HMAC key. ``repr`` and ``str`` name the recipients, never the keys."""

    __slots__ = ("_keys", "_pseudonymisers")

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        self._keys = dict(keys)
        # one function (one memo) per recipient, however many routes it has
        self._pseudonymisers: dict[str, PseudonymiserFn] = {}

    def __repr__(self) -> str:
        return f"PseudonymKeys(recipients={sorted(self._keys)})"

    __str__ = __repr__

    @property
    def recipients(self) -> frozenset[str]:
        return frozenset(self._keys)

    def pseudonymiser(self, recipient: str) -> PseudonymiserFn:
        """The recipient's pseudonym function; ``ConfigError`` if there is no key for it."""
        key = self._keys.get(recipient)
        if key is None:
            raise ConfigError(
                f"pseudonym keys: no key for recipient '{recipient}': every recipient with a "
                "route needs one for its subject ids (set PURPOSEGATE_PSEUDONYM_KEYS_FILE; "
                "`purposegate keys --init FILE` writes a development key file)"
            )
        found = self._pseudonymisers.get(recipient)
        if found is None:
            found = self._pseudonymisers[recipient] = PseudonymiserFn(key)
        return found

    def event_id_pseudonymiser(self, recipient: str) -> EventIdPseudonymiserFn:
        """The recipient's function for the event ids of its pseudonymised records."""
        self.pseudonymiser(recipient)  # ConfigError when there is no key
        return EventIdPseudonymiserFn(self._keys[recipient])


class PseudonymiserFn:
    """``customer_id -> hex HMAC-SHA256``; a callable that keeps its key out of ``repr``.

    Recent answers are remembered (customers come back; an HMAC costs about a microsecond);
    the memo is forgotten whole when it reaches ``MEMO_SIZE`` entries.
    """

    __slots__ = ("_key", "_memo")

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._memo: dict[str, str] = {}

    def __call__(self, customer_id: str) -> str:
        pseudonym = self._memo.get(customer_id)
        if pseudonym is None:
            pseudonym = hmac.digest(self._key, customer_id.encode("utf-8"), "sha256").hex()
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[customer_id] = pseudonym
        return pseudonym

    def __repr__(self) -> str:
        return "PseudonymiserFn(<key hidden>)"


class EventIdPseudonymiserFn:
    """``event_id -> hex HMAC-SHA256`` under the recipient's key, in a domain of its own: stable
    (the recipient can deduplicate), never equal to a subject pseudonym, and not joinable with
    the event id that named records of other recipients carry (docs/contract.md §3)."""

    __slots__ = ("_keyed",)

    DOMAIN: Final = b"purposegate-event-id\x00"

    def __init__(self, key: bytes) -> None:
        # the key schedule and the domain prefix, computed once; each call copies it
        self._keyed = hmac.new(key, self.DOMAIN, "sha256")

    def __call__(self, event_id: str) -> str:
        mac = self._keyed.copy()
        mac.update(event_id.encode("utf-8"))
        return mac.hexdigest()

    def __repr__(self) -> str:
        return "EventIdPseudonymiserFn(<key hidden>)"


def load_keys(settings: KeySettings) -> PseudonymKeys:
    """The keys named by the settings (file, then env JSON per recipient); may be empty."""
    merged: dict[str, bytes] = {}
    if settings.pseudonym_keys_file is not None:
        merged.update(_read_file(settings.pseudonym_keys_file))
    if settings.pseudonym_keys is not None:
        merged.update(
            _parse(settings.pseudonym_keys.get_secret_value(), "PURPOSEGATE_PSEUDONYM_KEYS")
        )
    return PseudonymKeys(merged)


def keys_from_file(path: Path) -> PseudonymKeys:
    return PseudonymKeys(_read_file(path))


def write_dev_key_file(path: Path, recipients: Iterable[str], *, overwrite: bool = False) -> None:
    """A fresh random key per recipient, written owner-readable only. For development."""
    if path.exists() and not overwrite:
        raise ConfigError(f"pseudonym keys: {path} exists; refusing to overwrite its keys")
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {recipient: secrets.token_hex(32) for recipient in sorted(set(recipients))}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")


def _read_file(path: Path) -> dict[str, bytes]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"pseudonym keys: cannot read {path} ({exc.strerror})") from exc
    return _parse(text, str(path))


def _parse(text: str, where: str) -> dict[str, bytes]:
    try:
        document = json.loads(text)
    except ValueError:
        # The message never quotes the text: it holds secrets.
        raise ConfigError(f"pseudonym keys: {where} is not a JSON object") from None
    if not isinstance(document, dict):
        raise ConfigError(f"pseudonym keys: {where} is not a JSON object")
    keys: dict[str, bytes] = {}
    for recipient, key in document.items():
        if not isinstance(key, str) or len(key) < MIN_KEY_LENGTH:
            raise ConfigError(
                f"pseudonym keys: {where}: the key of '{recipient}' must be a string of at "
                f"least {MIN_KEY_LENGTH} characters"
            )
        keys[str(recipient)] = key.encode("utf-8")
    return keys


def ephemeral_keys(recipients: Iterable[str]) -> PseudonymKeys:
    """A fresh random key per recipient, held in memory only (``dry-run`` without ``--keys``):
    the pseudonyms of that run match no other run and none that a recipient holds."""
    return PseudonymKeys({r: secrets.token_hex(32).encode("ascii") for r in set(recipients)})
