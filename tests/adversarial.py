"""Adversarial input streams (Hypothesis strategies) for the property suites.

Every personal or free value is a canary ``CNRY<n>-<tag>-YRNC``: ``<tag>`` names the field it
sits in (``items_sku``, ``answers_key``, ``extra`` for a value under an unclassified key,
``extrakey`` for such a key's own name), ``<n>`` makes it unique. Finding a canary somewhere
tells which field got there. Extra keys sit at every depth (record, order lines); strings carry
hostile tails (NUL, RTL overrides, format strings, JSON-looking text, a lone surrogate, lengths
at and past the string limit); countries, times and numbers are sometimes out of bounds;
consents (``cross_border`` included) and Section 10 requests, verified or not, interleave with
orders, inquiries and campaign entries of a handful of customers.

A ``Stream`` knows which lines are valid (each carries at most one fault the contract rejects).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from policy.input_rules import DEFAULT_LIMITS

MARKER = re.compile(r"CNRY\d+-([a-z_]+)-YRNC")
CUSTOMERS = 4
BASE = datetime(2026, 1, 1, tzinfo=UTC)
#: Tags that must never reach any group company (contract §3, §4).
NEVER_SHARED = frozenset(
    {"email", "message", "comment", "subject", "card_last4", "skin_concerns", "extra",
     "extrakey", "items_extra", "items_extrakey"}
)  # fmt: skip
#: Tags that must never reach a pseudonymised route (contract §3, issue 12).
IDENTIFYING = frozenset(
    {"customer_id", "name", "email", "phone", "address", "postal_code", "order_id", "event_id"}
)
#: Consent scopes, the ones that gate routes more often (a scope no route needs is recorded).
SCOPES = (
    "marketing", "marketing", "cross_border", "cross_border", "monitoring_research",
    "skin_support", "fulfilment",
)  # fmt: skip
GRANTS = (True, True, False)  # grants twice as often: forwarded gated routes get tested
#: Tails that a valid string may carry.
BENIGN_TAILS = (
    "", "\x00", "\u202e\u202dgnp.exe", "%s%n{}{0}%(x)s", '"},"email":{"', "\\u0000\\ud800",
    "😀\u200b", "'; DROP TABLE x; --", "\r\n{\"topic\": \"orders\"}",
)  # fmt: skip


def tags(text: str) -> set[str]:
    """The tags of every canary in ``text``."""
    return set(MARKER.findall(text))


@dataclass
class Stream:
    """JSON-lines bytes (numbered from 1), which are valid, and each line's input value."""

    lines: list[bytes] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    values: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # event_id ->

    def __repr__(self) -> str:  # Hypothesis prints failing examples: keep them readable
        shown = [line[:300] + (b"..." if len(line) > 300 else b"") for line in self.lines]
        flags = "".join(".x"[not ok] for ok in self.valid)
        return f"Stream(valid={flags!r}, lines={shown!r})"

    def numbered(self) -> list[tuple[int, bytes]]:
        return list(enumerate(self.lines, start=1))

    def good_event_ids(self) -> list[str]:
        return [
            json.loads(line)["value"]["event_id"]
            for line, ok in zip(self.lines, self.valid, strict=True)
            if ok
        ]

    def bad_line_numbers(self) -> list[int]:
        return [n for n, ok in enumerate(self.valid, start=1) if not ok]


class _Canaries:
    """Unique canaries for one stream."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, tag: str) -> str:
        self.n += 1
        return f"CNRY{self.n}-{tag}-YRNC"


def _extras(draw: st.DrawFn, mint: _Canaries, prefix: str = "") -> dict[str, Any]:
    """Zero to two keys the policy does not classify, canaries as their names and values."""
    return {
        mint(f"{prefix}extrakey"): draw(st.sampled_from([mint(f"{prefix}extra"), 7, None, [1]]))
        for _ in range(draw(st.integers(0, 2)))
    }


def _contact(mint: _Canaries, k: int, at: datetime) -> dict[str, Any]:
    return {
        "event_id": mint("event_id"), "event_time": at, "customer_id": f"CNRY{k}-customer_id-YRNC",
        "name": mint("name"), "email": mint("email"), "phone": mint("phone"),
    }  # fmt: skip


def _address(draw: st.DrawFn, mint: _Canaries) -> dict[str, Any]:
    return {
        "country": draw(st.sampled_from(["JP", "JP", "AU", "SG", "US"])),
        "postal_code": mint("postal_code"), "prefecture": mint("prefecture"),
        "address": mint("address"),
    }  # fmt: skip


def _order(draw: st.DrawFn, mint: _Canaries) -> dict[str, Any]:
    method = draw(
        st.sampled_from(["card", "cash_on_delivery", "bank_transfer", "convenience_store"])
    )
    items = [
        {"sku": mint("items_sku"), "product_name": mint("items_product_name"),
         "quantity": draw(st.integers(1, 5)), "unit_price_jpy": draw(st.integers(0, 10**5)),
         **_extras(draw, mint, "items_")}
        for _ in range(draw(st.integers(0, 2)))
    ]  # fmt: skip
    return {
        "order_id": mint("order_id"),
        "status": draw(st.sampled_from(["placed", "paid", "shipped", "delivered", "returned",
                                        "cancelled"])),
        **_address(draw, mint), "items": items, "total_jpy": draw(st.integers(0, 10**6)),
        "payment_method": method, "card_last4": mint("card_last4") if method == "card" else None,
    }  # fmt: skip


def _inquiry(draw: st.DrawFn, mint: _Canaries) -> dict[str, Any]:
    kind = draw(st.sampled_from(["question", "complaint", "consultation", "return_request",
                                 "privacy_request"]))  # fmt: skip
    return {
        "inquiry_id": mint("inquiry_id"), "kind": kind,
        "related_order_id": draw(st.sampled_from([None, mint("related_order_id")])),
        "subject": mint("subject"), "message": mint("message"),
        "skin_concerns": [mint("skin_concerns"), mint("skin_concerns")]
        if kind == "consultation" else None,
    }  # fmt: skip


def _entry(draw: st.DrawFn, mint: _Canaries) -> dict[str, Any]:
    kind = draw(st.sampled_from(["gift", "sample", "prize", "questionnaire", "monitor"]))
    return {
        "campaign_id": mint("campaign_id"), "kind": kind, **_address(draw, mint),
        "birth_year": draw(st.none() | st.integers(1900, 2025)),
        "gender": draw(st.sampled_from([None, mint("gender")])),
        "answers": {mint("answers_key"): mint("answers_value")
                    for _ in range(draw(st.integers(0, 2)))},
        "product_sku": mint("product_sku"), "rating": draw(st.none() | st.integers(1, 5)),
        "comment": mint("comment"), "won_prize": draw(st.none() | st.booleans()),
    }  # fmt: skip


def _state_change(draw: st.DrawFn, topic: str) -> dict[str, Any]:
    if topic == "consents":
        return {"scope": draw(st.sampled_from(SCOPES)), "granted": draw(st.sampled_from(GRANTS)),
                "source": draw(st.sampled_from(["web_form", "phone", "store"]))}  # fmt: skip
    return {"kind": draw(st.sampled_from(["suspend_use", "resume_use"])),
            "identity_verified": draw(st.booleans())}  # fmt: skip


BUILDERS = {"orders": _order, "inquiries": _inquiry, "campaign-entries": _entry}
TOPICS = ("orders", "inquiries", "campaign-entries", "consents", "subject-requests")
#: Faults a line may carry, each of which the contract sends to the DLQ.
FAULTS = (
    "surrogate", "too_long", "bad_country", "future", "far_future", "range", "mistyped",
    "bad_utf8",
)  # fmt: skip


def _drop_extras(value: dict[str, Any]) -> None:
    for item in value.get("items") or []:  # an order line's unclassified keys
        for key in [k for k in item if MARKER.fullmatch(k)]:
            del item[key]


def _strings(value: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(container, key) of every canary string value, the event id and customer id aside."""
    found: list[tuple[dict[str, Any], str]] = []
    for key, item in value.items():
        canary = isinstance(item, str) and MARKER.fullmatch(item)
        if canary and key not in ("event_id", "customer_id"):
            found.append((value, key))
        elif isinstance(item, list):
            for entry in item:
                if isinstance(entry, dict):
                    found.extend(_strings(entry))
    return found


def _hostile_tails(draw: st.DrawFn, value: dict[str, Any]) -> None:
    """Benign hostile tails on a few strings; one at exactly the string size limit."""
    strings = _strings(value)
    if not strings:
        return
    for container, key in draw(st.lists(st.sampled_from(strings), max_size=3)):
        container[key] += draw(st.sampled_from(BENIGN_TAILS))
    if draw(st.integers(0, 9)) == 0:
        container, key = draw(st.sampled_from(strings))
        size = len(container[key].encode("utf-8"))
        container[key] += "x" * (DEFAULT_LIMITS.max_string_bytes - size)


def _fault(draw: st.DrawFn, topic: str, value: dict[str, Any], now: datetime) -> str:
    """Breaks ``value`` in one way the contract rejects (or returns "bad_utf8" for the line)."""
    bounded = topic in ("orders", "campaign-entries")  # countries and ranges
    faults = [f for f in FAULTS if f not in ("bad_country", "range") or bounded]
    fault = draw(st.sampled_from(faults))
    strings = _strings(value)
    if fault in ("surrogate", "too_long", "bad_utf8") and not strings:
        fault = "future"
    if fault == "surrogate":
        container, key = draw(st.sampled_from(strings))
        container[key] += "\ud800"
    elif fault == "too_long":
        container, key = draw(st.sampled_from(strings))
        size = len(container[key].encode("utf-8"))
        container[key] += "y" * (DEFAULT_LIMITS.max_string_bytes - size + 1)
    elif fault == "bad_country":
        value["country"] = draw(st.sampled_from(["jp", "Japan", "XX", "JPN", "", "J P"]))
    elif fault == "future":
        value["event_time"] = now + timedelta(hours=draw(st.integers(1, 48)))
    elif fault == "far_future":
        value["event_time"] = datetime(2099, 1, 1, tzinfo=UTC)
    elif fault == "range":
        _out_of_range(draw, topic, value)
    elif fault == "mistyped":
        value["event_time"] = draw(st.sampled_from(["not a time", "2026-13-45T99:00:00Z", "7"]))
    return fault


def _out_of_range(draw: st.DrawFn, topic: str, value: dict[str, Any]) -> None:
    if topic == "orders":
        choice = draw(st.sampled_from(["total", "quantity"] if value["items"] else ["total"]))
        if choice == "total":
            value["total_jpy"] = draw(st.sampled_from([-1, -(10**9), 2**63]))
        else:
            value["items"][0]["quantity"] = draw(st.sampled_from([0, -3]))
    elif topic == "campaign-entries":
        key, bad = draw(st.sampled_from([("birth_year", 1899), ("birth_year", 3000),
                                         ("rating", 0), ("rating", 6)]))  # fmt: skip
        value[key] = bad


def _json_line(topic: str, value: dict[str, Any]) -> bytes:
    # ensure_ascii keeps a lone surrogate as its escape, as a hostile producer writes it
    text = json.dumps({"topic": topic, "value": value}, default=_iso)
    return text.encode("ascii")


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@st.composite
def streams(
    draw: st.DrawFn, max_events: int = 40, fault_rate: int = 5, extras: bool = True, least: int = 1
) -> Stream:
    """A stream of up to ``max_events`` lines; about one in ``fault_rate`` is invalid.
    ``extras=False``: no unclassified keys (Avro input records cannot carry them)."""
    now = datetime.now(UTC)
    mint = _Canaries()
    count = draw(st.integers(least, max_events))
    # Distinct event times (seconds after BASE, some in the far past), in any line order.
    seconds = draw(st.lists(st.integers(-4 * 10**9, 10**7), min_size=count, max_size=count,
                            unique=True))  # fmt: skip
    stream = Stream()
    for offset in seconds:
        topic = draw(st.sampled_from(TOPICS))
        k = draw(st.integers(0, CUSTOMERS - 1))
        value = _contact(mint, k, BASE + timedelta(seconds=offset))
        if topic in BUILDERS:
            value.update(BUILDERS[topic](draw, mint))
            if not extras:
                _drop_extras(value)
            _hostile_tails(draw, value)
        else:
            value = {key: value[key] for key in ("event_id", "event_time", "customer_id")}
            value.update(_state_change(draw, topic))
        if extras:
            value.update(_extras(draw, mint))
        fault = _fault(draw, topic, value, now) if draw(st.integers(1, fault_rate)) == 1 else ""
        line = _json_line(topic, value)
        if fault == "bad_utf8":
            line = line.replace(b"-YRNC", b"-YRNC\xff", 1)
        stream.lines.append(line)
        stream.valid.append(not fault)
        stream.values[value["event_id"]] = (topic, value)
    return stream
