"""Single hand-made input lines in the contract's JSON-lines form (tests and benchmarks)."""

from __future__ import annotations

import json


def consent_line(customer: str, event_id: str, scope: str, granted: bool, at: str) -> str:
    value = {"event_id": event_id, "event_time": at, "customer_id": customer,
             "scope": scope, "granted": granted, "source": "web_form"}  # fmt: skip
    return json.dumps({"topic": "consents", "value": value})


def order_line(customer: str, event_id: str, at: str) -> str:
    value = {
        "event_id": event_id, "event_time": at, "customer_id": customer,
        "order_id": f"o-{event_id}", "status": "placed", "name": "N", "email": "e@example.invalid",
        "phone": "0", "country": "JP", "postal_code": "100-0001", "prefecture": "Tokyo",
        "address": "A", "items": [{"sku": "S", "product_name": "P", "quantity": 1,
                                   "unit_price_jpy": 100}],
        "total_jpy": 100, "payment_method": "bank_transfer", "card_last4": None,
    }  # fmt: skip
    return json.dumps({"topic": "orders", "value": value})
