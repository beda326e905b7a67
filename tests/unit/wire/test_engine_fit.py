"""What the policy engine emits fits the wire schemas exactly (strict: no key more, none less)."""

from __future__ import annotations

from typing import Any

import pytest

from policy.engine import Decision, apply_state_event, decide
from policy.state import SubjectState
from streams import topics
from streams.avro import Codec, Decoded, SchemaStore
from tests.unit import policy_samples as ps

STORE = SchemaStore.load()
CODEC = Codec(STORE)


def _decision(topic: str, value: dict[str, Any], state: SubjectState) -> Decision:
    event = ps.event(topic, value)
    if topic in topics.STATE_TOPICS:
        return apply_state_event(event, state, ps.compiled())[1]
    return decide(event, state, ps.compiled())


@pytest.mark.parametrize(
    ("topic", "value", "state"),
    [
        (topics.ORDERS, ps.order(), ps.everything_granted()),  # JP delivered: cargo, financial, ...
        (topics.ORDERS, ps.order(country="AU"), ps.everything_granted()),  # abroad: AU/SG routes
        (topics.ORDERS, ps.order(), ps.state()),  # no consent: marketing blocked
        (topics.CAMPAIGN_ENTRIES, ps.entry(kind="monitor"), ps.everything_granted()),  # souken
        (
            topics.CAMPAIGN_ENTRIES,
            ps.entry(kind="questionnaire"),
            ps.everything_granted(),
        ),  # pseud.
        (topics.CAMPAIGN_ENTRIES, ps.entry(kind="gift"), ps.everything_granted()),  # cargo
        (topics.INQUIRIES, ps.inquiry(kind="consultation"), ps.everything_granted()),  # nothing out
        (topics.CONSENTS, ps.consent("marketing", False), ps.everything_granted()),  # withdrawal
        (topics.SUBJECT_REQUESTS, ps.request("suspend_use", False), ps.state()),  # rejected
    ],
)
def test_when_engine_decides_then_outputs_and_audit_encode_strictly(
    topic: str, value: dict[str, Any], state: SubjectState
) -> None:
    decision = _decision(topic, value, state)
    for output in decision.outputs:
        name = CODEC.output_schema_name(output.topic, output.value["source_topic"])
        decoded = CODEC.decode(CODEC.encode(name, output.value, strict=True))
        assert decoded == Decoded(name, output.value)
    audit = decision.audit_record()
    decoded = CODEC.decode(CODEC.encode("AuditRecord", audit, strict=True))
    assert isinstance(decoded, Decoded)
    assert decoded.value == audit
