"""Every block caused by the subject's state names the consent change or Section 10 request
behind it (``cause_event_id`` in the route decision and the audit record), so that the privacy
office can say which event stopped a disclosure; null only when the subject never consented."""

from __future__ import annotations

import json
from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from policy.engine import decide
from policy.state import EMPTY, SubjectState
from policy.step import step
from tests.unit.policy.samples import T0, compiled, consent, event, order, request
from wire import Codec, Decoded, SchemaStore
from wire.store import AUDIT_RECORD, SCHEMAS_DIR

BEFORE, AFTER = T0 - timedelta(hours=1), T0 + timedelta(hours=1)
EARLIER = BEFORE - timedelta(hours=1)
RELEASED = SCHEMAS_DIR / "released"


def with_changes(*changes: tuple[str, dict[str, Any]]) -> SubjectState:
    state = EMPTY
    for topic, value in changes:
        state, _ = step(event(topic, value), state, compiled())
    return state


GRANT, WITHDRAWAL = consent("marketing", True, EARLIER), consent("marketing", False, T0)
LATE_GRANT = consent("marketing", True, T0)
SUSPENSION = request("suspend_use", True, T0)
RESUMPTION = request("resume_use", True, T0)
ABROAD, ABROAD_WITHDRAWN = (
    consent("cross_border", True, EARLIER),
    consent("cross_border", False, T0),
)

CAUSES = [
    # never consented to marketing: no event to name
    (EMPTY, AFTER, "septem-communications", "JP", "no_consent", None),
    # the withdrawal in force
    (
        with_changes(("consents", GRANT), ("consents", WITHDRAWAL)),
        AFTER, "septem-communications", "JP", "no_consent", WITHDRAWAL["event_id"],
    ),
    # a withdrawal blocks an event dated before it too, and is named
    (
        with_changes(("consents", GRANT), ("consents", WITHDRAWAL)),
        BEFORE, "septem-communications", "JP", "no_consent", WITHDRAWAL["event_id"],
    ),
    # a grant dated after the event does not apply back: it is the change behind the block
    (
        with_changes(("consents", LATE_GRANT)),
        BEFORE, "septem-communications", "JP", "no_consent", LATE_GRANT["event_id"],
    ),
    # the verified suspension in force
    (
        with_changes(("consents", GRANT), ("subject-requests", SUSPENSION)),
        AFTER, "septem-communications", "JP", "use_suspended", SUSPENSION["event_id"],
    ),
    # a resumption dated after the event: the event fell in the suspension; the request is named
    (
        with_changes(
            ("consents", GRANT),
            ("subject-requests", request("suspend_use", True, EARLIER)),
            ("subject-requests", RESUMPTION),
        ),
        BEFORE, "septem-communications", "JP", "use_suspended", RESUMPTION["event_id"],
    ),
    # no cross-border consent ever: nothing to name
    (with_changes(("consents", GRANT)), AFTER, "affectus", "SG", "cross_border_consent_missing",
     None),
    # a cross-border withdrawal
    (
        with_changes(("consents", GRANT), ("consents", ABROAD), ("consents", ABROAD_WITHDRAWN)),
        AFTER, "affectus", "SG", "cross_border_consent_missing", ABROAD_WITHDRAWN["event_id"],
    ),
    # a forwarded route names no cause
    (with_changes(("consents", GRANT)), AFTER, "septem-communications", "JP", "permitted", None),
]  # fmt: skip


@pytest.mark.parametrize(("state", "at", "recipient", "country", "reason", "cause"), CAUSES)
def test_when_a_route_is_blocked_by_state_then_the_event_behind_it_is_named(
    state: SubjectState, at: Any, recipient: str, country: str, reason: str, cause: str | None
) -> None:
    decision = decide(event("orders", order(event_time=at, country=country)), state, compiled())
    (route,) = [d for d in decision.decisions if d.recipient == recipient]
    assert (route.reason, route.cause_event_id) == (reason, cause)
    (audited,) = [d for d in decision.audit_record()["decisions"] if d["recipient"] == recipient]
    assert audited["cause_event_id"] == cause


def test_when_the_audit_record_is_encoded_then_the_cause_survives() -> None:
    state = with_changes(("consents", GRANT), ("consents", WITHDRAWAL))
    decision = decide(event("orders", order(event_time=AFTER)), state, compiled())
    codec = Codec(SchemaStore.load())
    decoded = codec.decode(codec.encode(AUDIT_RECORD, decision.audit_record(), strict=True))
    assert isinstance(decoded, Decoded)
    causes = {d["cause_event_id"] for d in decoded.value["decisions"] if d["outcome"] == "blocked"}
    assert causes == {WITHDRAWAL["event_id"]}


def test_when_a_record_of_the_released_schema_is_read_then_its_cause_is_empty_not_null() -> None:
    # null would say "the customer never consented"; a record from before the field says nothing
    released = json.loads((RELEASED / "audit" / "AuditRecord.avsc").read_text(encoding="utf-8"))
    state = with_changes(("consents", GRANT), ("consents", WITHDRAWAL))
    record = decide(event("orders", order(event_time=AFTER)), state, compiled()).audit_record()
    for item in record["decisions"]:
        del item["cause_event_id"]
    out = BytesIO()
    schemaless_writer(out, parse_schema(released), record)
    out.seek(0)
    current = SchemaStore.load().get(AUDIT_RECORD).parsed
    read = schemaless_reader(out, parse_schema(released), current)
    assert {d["cause_event_id"] for d in read["decisions"]} == {""}
