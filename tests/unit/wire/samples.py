"""Realistic records for every wire schema (fictional people; no real personal data).

Input samples are written by hand to the contract; output, audit and DLQ samples are filled
from the schema, field by field, from ``REALISTIC`` (by field name) or by type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wire import Schema

T0 = datetime(2026, 11, 24, 9, 30, 0, 123000, tzinfo=UTC)

INPUT_SAMPLES: dict[str, dict[str, Any]] = {
    "OrderEvent": {
        "event_id": "ev-0001",
        "event_time": T0,
        "customer_id": "c-1001",
        "order_id": "o-5001",
        "status": "delivered",
        "name": "山田 花子",
        "email": "hanako@example.jp",
        "phone": "+81-3-0000-0000",
        "country": "JP",
        "postal_code": "150-0001",
        "prefecture": "東京都",
        "address": "渋谷区神宮前1-2-3",
        "items": [
            {"sku": "SKU-1", "product_name": "化粧水 200ml", "quantity": 2, "unit_price_jpy": 3300},
            {"sku": "SKU-9", "product_name": "Serum", "quantity": 1, "unit_price_jpy": 8800},
        ],
        "total_jpy": 15400,
        "payment_method": "card",
        "card_last4": "4242",
    },
    "InquiryEvent": {
        "event_id": "ev-0002",
        "event_time": T0,
        "customer_id": "c-1002",
        "inquiry_id": "q-77",
        "kind": "consultation",
        "name": "Jane Roe",
        "email": "jane@example.com",
        "phone": "+61-2-0000-0000",
        "related_order_id": None,
        "subject": "Dry skin",
        "message": "Which cream suits dry skin in winter?",
        "skin_concerns": ["dryness", "redness"],
    },
    "CampaignEntry": {
        "event_id": "ev-0003",
        "event_time": T0,
        "customer_id": "c-1003",
        "campaign_id": "cmp-2026-winter",
        "kind": "monitor",
        "name": "佐藤 一郎",
        "email": "ichiro@example.jp",
        "phone": "+81-6-0000-0000",
        "country": "JP",
        "postal_code": "530-0001",
        "prefecture": "大阪府",
        "address": "北区梅田1-1",
        "birth_year": 1987,
        "gender": None,
        "answers": {"q1": "daily", "q2": "yes"},
        "product_sku": "SKU-9",
        "rating": 4,
        "comment": "Nice texture",
        "won_prize": None,
    },
    "ConsentChange": {
        "event_id": "ev-0004",
        "event_time": T0,
        "customer_id": "c-1001",
        "scope": "cross_border",
        "granted": True,
        "source": "web_form",
    },
    "SubjectRequest": {
        "event_id": "ev-0005",
        "event_time": T0,
        "customer_id": "c-1001",
        "kind": "suspend_use",
        "identity_verified": False,
    },
}

#: Values by field name for the filled samples (output envelope and route fields, audit, DLQ).
REALISTIC: dict[str, Any] = {
    **{k: v for sample in INPUT_SAMPLES.values() for k, v in sample.items()},
    "kind": "monitor",
    "status": "delivered",
    "source_topic": "campaign-entries",
    "purpose": "monitoring_research",
    "recipient": "septem-souken",
    "policy_version": "p-3f9a1c2b",
    "subject_pseudonym": "ps-9d2f6e0a4b1c",
    "subject_id": "7f3a0c1e9b2d",
    "birth_year_band": "1980s",
    "purposes": ["campaign", "marketing", "monitoring_research"],
    "decisions": [
        {
            "recipient": "septem-souken",
            "purpose": "monitoring_research",
            "topic": "shared.septem-souken.monitoring_research",
            "outcome": "blocked",
            "reason": "no_consent",
            "fields_sent": [],
            "fields_redacted": ["name", "email"],
            "cause_event_id": "ev-0004",
            "basis": None,
            "subject_id": None,
            "content_redactions": [],
        },
        {
            "recipient": "septem-cargo",
            "purpose": "campaign",
            "topic": "shared.septem-cargo.campaign",
            "outcome": "forwarded",
            "reason": "permitted",
            "fields_sent": ["subject_id", "campaign_id", "name", "address"],
            "fields_redacted": ["customer_id", "email", "comment", "birth_year"],
            "cause_event_id": None,
            "basis": "application",
            "subject_id": "7f3a0c1e9b2d",
            "content_redactions": [{"path": "answers{}.value", "detector": "email"}],
        },
    ],
    "state_change": None,
    "unclassified_fields": [],
    "tombstone_topics": ["shared.septem-communications.marketing"],
    "partition": 3,
    "offset": 1234567890123,
    "error": "field 'status' is not one of the allowed values",
    "error_kind": "unknown_enum",
    "raw": b"\xc3\x01\x00\xffnot-a-record",
    "received_time": T0,
}

_BY_TYPE: dict[str, Any] = {
    "string": "text",
    "int": 7,
    "long": 7,
    "boolean": True,
    "bytes": b"\x00\x01",
    "null": None,
}


def sample(schema: Schema) -> dict[str, Any]:
    """A realistic value of ``schema``."""
    if schema.name in INPUT_SAMPLES:
        return dict(INPUT_SAMPLES[schema.name])
    return filled(schema.source)


def _fitted(value: Any, avro_type: Any) -> Any:
    """A realistic list of records cut to the keys the schema's records have (a route that
    keeps only some keys of the order lines)."""
    branches = avro_type if isinstance(avro_type, list) else [avro_type]
    for branch in branches:
        if isinstance(branch, dict) and branch.get("type") == "array" and isinstance(value, list):
            inner = branch["items"]
            if isinstance(inner, dict) and inner.get("type") == "record":
                keys = {f["name"] for f in inner["fields"]}
                return [{k: v for k, v in item.items() if k in keys} for item in value]
    return value


def filled(record: dict[str, Any] | Any) -> dict[str, Any]:
    """A value of any record schema (JSON), field by field."""
    return {f["name"]: _value(f["name"], f["type"]) for f in record["fields"]}


def _value(name: str, avro_type: Any) -> Any:
    if name in REALISTIC:
        return _fitted(REALISTIC[name], avro_type)
    if isinstance(avro_type, list):
        return _value(name, next(t for t in avro_type if t != "null"))
    if isinstance(avro_type, dict):
        if avro_type.get("logicalType") == "timestamp-millis":
            return T0
        if avro_type["type"] == "array":
            return [_value(name, avro_type["items"])]
        if avro_type["type"] == "map":
            return {"k": _value(name, avro_type["values"])}
        if avro_type["type"] == "record":
            return {f["name"]: _value(f["name"], f["type"]) for f in avro_type["fields"]}
        return _value(name, avro_type["type"])
    return _BY_TYPE[avro_type]
