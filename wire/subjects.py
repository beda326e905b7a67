"""Subjects that standard tools find: ``<topic>-value`` (Confluent's TopicNameStrategy), one per
topic, each with compatibility BACKWARD, registered at start-up for every topic of the policy.

Kafka Connect's AvroConverter, confluent-kafka's ``AvroDeserializer``, Flink's and ksqlDB's
``avro-confluent`` look a topic's schema up as ``<topic>-value`` by default. BACKWARD means a
consumer with the new schema reads everything already on the topic: fields are added with
defaults, never renamed, narrowed nor removed. The compatibility is set before the schema is
registered, so a schema that breaks the rule is refused at start-up (``SchemaRegistryError``
naming the topic) before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Final

from wire.registry import (
    RegistryClient,
    SchemaRegistryError,
    SchemaRegistryUnavailableError,
)
from wire.store import Schema

COMPATIBILITY: Final = "BACKWARD"
VALUE_SUFFIX: Final = "-value"


def value_subject(physical_topic: str) -> str:
    """The subject of a topic's values.

    >>> value_subject("shared.septem-cargo.fulfilment")
    'shared.septem-cargo.fulfilment-value'
    """
    return physical_topic + VALUE_SUFFIX


def register_subjects(
    registry: RegistryClient, wire: Mapping[str, Schema], physical: Callable[[str], str]
) -> dict[str, int]:
    """Logical topic -> schema id of its record under ``<physical topic>-value``."""
    ids: dict[str, int] = {}
    for topic, schema in wire.items():
        subject = value_subject(physical(topic))
        try:
            registry.set_compatibility(subject, COMPATIBILITY)
            ids[topic] = registry.register(subject, json.dumps(schema.source))
        except SchemaRegistryUnavailableError:
            raise  # says which registry does not answer; nothing was refused
        except SchemaRegistryError as exc:
            raise type(exc)(
                f"the schema registry refused record {schema.name} for topic {physical(topic)} "
                f"(subject {subject}, compatibility {COMPATIBILITY}): {exc}"
            ) from None
    return ids
