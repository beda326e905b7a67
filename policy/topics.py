"""Every topic of the contract and the name of each route's output record, declared once
(docs/contract.md §1, §3, §4).

Names here are the contract's logical names; the Kafka edge (``Settings.topic()``) adds the
optional ``PURPOSEGATE_TOPIC_PREFIX`` that tests use to isolate themselves. Which record each
input topic carries is policy data (``inputs.<topic>.record`` in ``policy.yaml``).
"""

from __future__ import annotations

from typing import Final

ORDERS: Final = "orders"
INQUIRIES: Final = "inquiries"
CAMPAIGN_ENTRIES: Final = "campaign-entries"
CONSENTS: Final = "consents"
SUBJECT_REQUESTS: Final = "subject-requests"

#: Input topics whose events are tagged with purposes and routed to group companies.
EVENT_TOPICS: Final = (ORDERS, INQUIRIES, CAMPAIGN_ENTRIES)
#: Input topics that change a customer's consent state.
STATE_TOPICS: Final = (CONSENTS, SUBJECT_REQUESTS)
#: All five input topics, co-partitioned by ``customer_id``.
INPUT_TOPICS: Final = EVENT_TOPICS + STATE_TOPICS

AUDIT: Final = "purposegate.audit"
DLQ: Final = "purposegate.dlq"
#: Every policy version that decided, keyed by its version (compacted; ``explain`` reads it).
POLICIES: Final = "purposegate.policies"
#: Where each erasure notice went and whether it was read (compacted; ``purposegate erasures``).
ERASURES: Final = "purposegate.erasures"
#: What a shadow policy (``worker --shadow-policy``) would decide differently, per event.
SHADOW: Final = "purposegate.shadow"

SHARED_PREFIX: Final = "shared."


def shared_topic(recipient: str, purpose: str) -> str:
    """The output topic of one group company and one purpose: ``shared.<recipient>.<purpose>``.

    >>> shared_topic("septem-cargo", "fulfilment")
    'shared.septem-cargo.fulfilment'
    """
    return f"{SHARED_PREFIX}{recipient}.{purpose}"


def output_record(recipient: str, purpose: str, source_topic: str) -> str:
    """The Avro record name of one route's outputs (``schemas/output``).

    >>> output_record("septem-cargo", "fulfilment", "campaign-entries")
    'SeptemCargoFulfilmentFromCampaignEntries'
    """
    return f"{_camel(recipient)}{_camel(purpose)}From{_camel(source_topic)}"


def topic_record(recipient: str, purpose: str) -> str:
    """The Avro record name of a shared topic's values on the wire (``schemas/topics``): one
    record per topic, whatever the source topics of its routes.

    >>> topic_record("septem-souken", "product_development")
    'SeptemSoukenProductDevelopment'
    """
    return f"{_camel(recipient)}{_camel(purpose)}"


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("-", "_").split("_"))
