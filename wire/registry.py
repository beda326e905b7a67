"""A minimal client of a Confluent-compatible schema registry's REST API (urllib, no extra deps).

Only what the Confluent wire format needs: register a schema under a subject (which returns its
global id, the same id again for the same schema) and fetch a schema by id. Ids are cached for
the life of the client in both directions; a registry that does not answer raises
``SchemaRegistryUnavailableError`` (infrastructure, not data: the caller must not DLQ good records
because the registry is down).

Subjects are ``<topic>-value`` (``wire.subjects``), each with a compatibility level.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Final

from policy.errors import PurposegateError

CONTENT_TYPE: Final = "application/vnd.schemaregistry.v1+json"
RETRIES: Final = 4
RETRY_DELAY_S: Final = 0.25


class SchemaRegistryError(PurposegateError):
    """The registry refused a request (the message says which and why)."""


class SchemaRegistryUnavailableError(SchemaRegistryError):
    """The registry named by ``SCHEMA_REGISTRY_URL`` does not answer."""


class SchemaNotFoundError(SchemaRegistryError):
    """The registry has no schema with the id asked for."""


class _ServerError(Exception):
    """A 5xx answer; retried, then raised as ``SchemaRegistryError``."""


class _ConflictError(SchemaRegistryError):
    """A 409 answer: a concurrent writer won a race, or the schema is incompatible."""


class RegistryClient:
    """Registers and fetches Avro schemas; thread-safe caches of id ↔ schema text."""

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SchemaRegistryError(f"SCHEMA_REGISTRY_URL must be an http(s) URL, not {url!r}")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._ids: dict[tuple[str, str], int] = {}
        self._texts: dict[int, str] = {}
        self._lock = threading.Lock()

    def register(self, subject: str, schema_text: str) -> int:
        """The global id of ``schema_text`` under ``subject``, registering it if new."""
        key = (subject, schema_text)
        cached = self._ids.get(key)
        if cached is not None:
            return cached
        path = f"/subjects/{urllib.parse.quote(subject, safe='')}/versions"
        payload = {"schema": schema_text, "schemaType": "AVRO"}
        try:
            body = self._request("POST", path, payload)
        except _ConflictError:
            # Another worker may have created the subject between the registry's check and
            # its insert; asked again, it finds that version. An incompatible schema is
            # refused again, with the same message.
            body = self._request("POST", path, payload)
        schema_id = int(body["id"])
        with self._lock:
            self._ids[key] = schema_id
            self._texts.setdefault(schema_id, schema_text)
        return schema_id

    def set_compatibility(self, subject: str, level: str) -> None:
        """Set ``subject``'s compatibility level (the subject need not exist yet).

        Workers starting together race to create the subject's rule; the loser's 409
        ("rule already exists") is not an error when the level set is the one wanted, and
        otherwise the rule now exists and a second PUT updates it.
        """
        path = f"/config/{urllib.parse.quote(subject, safe='')}"
        try:
            self._request("PUT", path, {"compatibility": level})
        except _ConflictError:
            if self.compatibility(subject) != level:
                self._request("PUT", path, {"compatibility": level})

    def compatibility(self, subject: str) -> str:
        """``subject``'s compatibility level."""
        body = self._request("GET", f"/config/{urllib.parse.quote(subject, safe='')}", None)
        return str(body.get("compatibilityLevel") or body.get("compatibility"))

    def schema_text(self, schema_id: int) -> str:
        """The schema registered under ``schema_id``; ``SchemaNotFoundError`` when none is."""
        cached = self._texts.get(schema_id)
        if cached is not None:
            return cached
        body = self._request("GET", f"/schemas/ids/{schema_id}", None)
        text = str(body["schema"])
        with self._lock:
            self._texts[schema_id] = text
        return text

    def _request(self, method: str, path: str, payload: dict[str, Any] | None) -> Any:
        """One REST call; a 5xx answer is retried (registries report transient storage
        contention that way, e.g. Apicurio's in-memory H2 right after start-up)."""
        for attempt in range(RETRIES):
            try:
                return self._request_once(method, path, payload)
            except _ServerError as exc:
                if attempt == RETRIES - 1:
                    raise SchemaRegistryError(str(exc)) from None
                time.sleep(RETRY_DELAY_S * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _request_once(self, method: str, path: str, payload: dict[str, Any] | None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = _error_message(exc)
            if exc.code == 404 and path.startswith("/schemas/ids/"):
                raise SchemaNotFoundError(f"schema registry has no {path}: {detail}") from None
            error: type[Exception] = SchemaRegistryError
            if exc.code == 409:
                error = _ConflictError
            elif exc.code >= 500:
                error = _ServerError
            raise error(
                f"schema registry {method} {path} failed: HTTP {exc.code} {detail}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SchemaRegistryUnavailableError(
                f"schema registry at {self.url} does not answer ({reason})"
            ) from None


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""
