"""The ``purposegate.policies`` topic: every policy version that decided, keyed by version.

``keep_policy`` runs at worker start-up, before any event is decided, and waits for the broker's
acknowledgement: a worker that cannot keep its policy does not start (an audit record must
never name a version nobody can read). ``kept_policies`` reads them all back for ``explain``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kafka.errors import KafkaError

from broker.clients import producer
from broker.reader import open_reader, records
from config.settings import Settings
from policy import topics
from policy.errors import KafkaUnavailableError
from policy.history import VERSION_FIELD
from wire import Codec, Decoded


def keep_policy(settings: Settings, codec: Codec, record: dict[str, Any]) -> None:
    """Write one ``purposegate.policies`` record and wait until the broker has it (at most
    ``KAFKA_CONNECT_TIMEOUT_S`` for the topic's metadata, then as long for the answer)."""
    value = codec.encode_for(topics.POLICIES, record, strict=True)
    wait_s = settings.kafka_connect_timeout_s
    client = producer(settings, max_block_ms=int(wait_s * 1000))
    name = settings.topic(topics.POLICIES)
    try:
        key = str(record[VERSION_FIELD]).encode("utf-8")
        client.send(name, key=key, value=value).get(timeout=wait_s)
    except KafkaError as exc:
        raise KafkaUnavailableError(
            f"cannot keep the policy version in {name} ({type(exc).__name__}); "
            "not deciding under a version that could not be kept"
        ) from None
    finally:
        client.close(timeout=5)


def kept_policies(settings: Settings, codec: Codec) -> Iterator[dict[str, Any]]:
    """Every ``purposegate.policies`` value on the topic (``PurposegateError`` when the topic
    does not exist)."""
    reader = open_reader(settings, [topics.POLICIES])
    try:
        for record in records(reader, follow=False):
            if record.value is None:
                continue
            decoded = codec.decode(record.value)
            if isinstance(decoded, Decoded) and isinstance(decoded.value, dict):
                yield decoded.value
    finally:
        reader.client.close()
