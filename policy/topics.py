"""Every topic of the contract, declared once (CONTRACT.md §1, §3, §4).

Names here are the contract's logical names; ``Settings.topic()`` adds the optional
``PURPOSEGATE_TOPIC_PREFIX`` that tests use to isolate themselves.
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

SHARED_PREFIX: Final = "shared."


def shared_topic(recipient: str, purpose: str) -> str:
    """The output topic of one group company and one purpose: ``shared.<recipient>.<purpose>``."""
    return f"{SHARED_PREFIX}{recipient}.{purpose}"
