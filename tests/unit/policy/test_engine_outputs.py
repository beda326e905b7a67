"""What a forwarding route's output holds: the envelope and the route's fields, transformed as
the policy says, keyed by the customer id or the recipient's pseudonym."""

from __future__ import annotations

from typing import Any

import pytest

from policy.engine import decide
from tests.unit.policy.samples import (
    compiled,
    entry,
    event,
    everything_granted,
    order,
)

OUTPUT_FIELDS = [
    # the JP carrier: order, status and delivery contact, nothing bought
    (
        "orders",
        order(),
        "septem-cargo",
        ("order_id", "status", "name", "phone", "postal_code", "prefecture", "address", "country"),
    ),
    # settlement: order id, name, amounts, payment method
    (
        "orders",
        order(),
        "septem-financial",
        ("order_id", "status", "name", "total_jpy", "payment_method"),
    ),
    # mailings: name, address, phone
    (
        "orders",
        order(),
        "septem-communications",
        ("name", "postal_code", "prefecture", "address", "country", "phone"),
    ),
    # pseudonymised purchase statistics: the product groups of the lines, not the lines
    (
        "orders",
        order(),
        "enfinity",
        ("subject_pseudonym", "status_band", "items_band", "country_band"),
    ),
    # the foreign carrier also gets contents and value for customs
    (
        "orders",
        order(country="AU"),
        "sptm-international",
        (
            "order_id",
            "status",
            "name",
            "phone",
            "postal_code",
            "prefecture",
            "address",
            "country",
            "items",
            "total_jpy",
        ),
    ),  # fmt: skip
    # research gets the evaluation and a birth decade, pseudonymised, no contact details
    (
        "campaign-entries",
        entry(kind="monitor"),
        "septem-souken",
        (
            "subject_pseudonym",
            "campaign_id",
            "product_sku",
            "rating",
            "answers",
            "gender",
            "birth_year_band",
            "country_band",
        ),
    ),  # fmt: skip
]


@pytest.mark.parametrize(("topic", "value", "recipient", "fields"), OUTPUT_FIELDS)
def test_when_route_forwards_then_output_has_envelope_and_route_fields_only(
    topic: str, value: dict[str, Any], recipient: str, fields: tuple[str, ...]
) -> None:
    decision = decide(event(topic, value), everything_granted(), compiled())
    (output,) = [o for o in decision.outputs if o.recipient == recipient]
    envelope = ("event_id", "event_time", "source_topic", "purpose", "recipient", "policy_version")
    # every route carries the recipient's subject id: first on named routes, where the policy
    # adds it; where the route lists it on pseudonymised ones
    subject = () if fields[0] == "subject_pseudonym" else ("subject_id",)
    assert tuple(output.value) == envelope + subject + fields
    assert output.value["policy_version"] == compiled().version
    assert output.value["source_topic"] == topic
    assert output.topic == f"shared.{recipient}.{output.purpose}"


def test_when_birth_year_goes_to_research_then_it_is_a_ten_year_band() -> None:
    monitor = event("campaign-entries", entry(kind="monitor", birth_year=1987))
    decision = decide(monitor, everything_granted(), compiled())
    (output,) = [o for o in decision.outputs if o.purpose == "monitoring_research"]
    assert output.value["birth_year_band"] == "1980s"
    assert "birth_year" not in output.value


def test_when_route_forwards_then_key_is_the_recipients_subject_id_not_the_customer_id() -> None:
    decision = decide(event("orders", order()), everything_granted(), compiled())
    keys = {}
    for output in decision.outputs:
        name = (
            "subject_pseudonym"
            if output.recipient in ("septem-souken", "enfinity")
            else "subject_id"
        )
        assert output.key == output.value[name] != "cust-1"
        assert "customer_id" not in output.value
        assert "cust-1" not in output.value.values()
        keys.setdefault(output.recipient, output.key)
        assert keys[output.recipient] == output.key  # one subject id per recipient
    assert len(set(keys.values())) == len(keys) >= 4  # and a different one for each
