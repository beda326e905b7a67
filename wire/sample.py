"""A synthetic JSON-lines stream of all five input topics, the same for the same arguments
(``purposegate sample``, the benchmarks and the reliability tests use it).

Customers live in Japan (most) and abroad; they grant and withdraw consents (some changes
arrive late, after a newer one), ask verified and unverified suspensions, place orders that go
placed → paid → shipped → delivered (some cancelled or returned), enter campaigns and write
inquiries. Every value is made up: names from short lists, e-mail at example.jp/example.com,
phone numbers in the 000 range. ``--invalid N`` mixes in N broken lines for the DLQ.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from policy import topics
from wire.jsonl import dumps

#: Far enough back that even a 200,000-event stream (~7.5 minutes apart on average, about three
#: years) ends before today: an event dated ahead of the processing clock goes to the DLQ.
START: Final = datetime(2023, 1, 1, tzinfo=UTC)
FAMILY: Final = ("Sato", "Suzuki", "Takahashi", "Tanaka", "Ito", "Watanabe", "Yamamoto", "Kato")
GIVEN: Final = ("Haruka", "Yui", "Sota", "Ren", "Aoi", "Hina", "Minato", "Yuto")
FOREIGN_FAMILY: Final = ("Smith", "Tan", "Brown", "Lim", "Wilson", "Ng", "Taylor", "Lee")
FOREIGN_GIVEN: Final = ("Olivia", "Wei Ling", "Jack", "Chloe", "Noah", "Mei", "Liam", "Ava")
PREFECTURES: Final = ("Aichi", "Tokyo", "Osaka", "Kanagawa", "Fukuoka", "Hokkaido", "Gifu")
ABROAD: Final = {"AU": ("NSW", "VIC"), "SG": ("Central",), "US": ("CA", "NY"), "GB": ("London",)}
PRODUCTS: Final = (
    ("SKU-LOT-01", "Moist lotion", 3300),
    ("SKU-SRM-02", "Brightening serum", 6600),
    ("SKU-CRM-03", "Night cream", 5500),
    ("SKU-CLN-04", "Foam cleanser", 1980),
    ("SKU-SUN-05", "UV milk", 2750),
)
PAYMENTS: Final = ("card", "cash_on_delivery", "bank_transfer", "convenience_store")
SCOPES: Final = ("marketing", "monitoring_research", "skin_support", "cross_border")
NEXT_STATUS: Final = {"placed": "paid", "paid": "shipped", "shipped": "delivered"}
TOPIC_WEIGHTS: Final = (
    (topics.ORDERS, 40),
    (topics.CONSENTS, 18),
    (topics.CAMPAIGN_ENTRIES, 22),
    (topics.INQUIRIES, 14),
    (topics.SUBJECT_REQUESTS, 6),
)


@dataclass
class Customer:
    customer_id: str
    name: str
    email: str
    phone: str
    country: str
    prefecture: str
    postal_code: str
    address: str
    birth_year: int | None
    gender: str | None
    open_orders: dict[str, str] = field(default_factory=dict)  # order id -> status


@dataclass
class Generator:
    rng: random.Random
    customers: list[Customer]
    now: datetime = START
    serial: int = 0

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial:07d}"

    def tick(self) -> datetime:
        self.now += timedelta(
            seconds=self.rng.randint(1, 900), milliseconds=self.rng.randint(0, 999)
        )
        return self.now

    def common(self, customer: Customer, prefix: str) -> dict[str, Any]:
        return {
            "event_id": self.next_id(prefix),
            "event_time": self.tick(),
            "customer_id": customer.customer_id,
        }


def sample_lines(seed: int, customers: int, events: int, invalid: int = 0) -> Iterator[str]:
    """The stream as JSON lines; deterministic for the same arguments."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by design
    gen = Generator(rng, [_customer(rng, i) for i in range(1, customers + 1)])
    broken_at = set(rng.sample(range(events), min(invalid, events)))
    names = [t for t, _ in TOPIC_WEIGHTS]
    weights = [w for _, w in TOPIC_WEIGHTS]
    for index in range(events):
        if index in broken_at:
            yield _broken(gen)
            continue
        topic = rng.choices(names, weights)[0]
        customer = rng.choice(gen.customers)
        yield dumps({"topic": topic, "value": MAKERS[topic](gen, customer)})


def _customer(rng: random.Random, number: int) -> Customer:
    in_japan = rng.random() < 0.8
    if in_japan:
        country, region = "JP", rng.choice(PREFECTURES)
        name = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"
        phone = f"090-0000-{rng.randint(0, 9999):04d}"
        postal = f"{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}"
        address = f"{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 40)} Sakae"
        domain = "example.jp"
    else:
        country = rng.choice(sorted(ABROAD))
        region = rng.choice(ABROAD[country])
        name = f"{rng.choice(FOREIGN_GIVEN)} {rng.choice(FOREIGN_FAMILY)}"
        phone = f"+00 0000 {rng.randint(0, 9999):04d}"
        postal = f"{rng.randint(1000, 9999)}"
        address = f"{rng.randint(1, 200)} Example Road"
        domain = "example.com"
    customer_id = f"C{number:06d}"
    return Customer(
        customer_id=customer_id,
        name=name,
        email=f"{customer_id.lower()}@{domain}",
        phone=phone,
        country=country,
        prefecture=region,
        postal_code=postal,
        address=address,
        birth_year=rng.choice([None, *range(1950, 2006)]),
        gender=rng.choice([None, "female", "male", "other"]),
    )


def _order(gen: Generator, customer: Customer) -> dict[str, Any]:
    order_id, status = _order_status(gen, customer)
    order_rng = random.Random(order_id)  # noqa: S311 - the same lines whenever the order is seen
    lines: list[dict[str, Any]] = [
        {
            "sku": sku,
            "product_name": name,
            "quantity": order_rng.randint(1, 3),
            "unit_price_jpy": price,
        }
        for sku, name, price in order_rng.sample(PRODUCTS, order_rng.randint(1, 3))
    ]
    payment = order_rng.choice(PAYMENTS)
    return {
        **gen.common(customer, "ord"),
        "order_id": order_id,
        "status": status,
        **_contact(customer),
        **_delivery(customer),
        "items": lines,
        "total_jpy": sum(i["quantity"] * i["unit_price_jpy"] for i in lines),
        "payment_method": payment,
        "card_last4": f"{order_rng.randint(0, 9999):04d}" if payment == "card" else None,
    }


def _order_status(gen: Generator, customer: Customer) -> tuple[str, str]:
    """An open order of the customer moved one status on, or a new order."""
    rng = gen.rng
    if customer.open_orders and rng.random() < 0.7:
        order_id, status = rng.choice(sorted(customer.open_orders.items()))
        if status == "placed" and rng.random() < 0.1:
            status = "cancelled"
        elif status == "delivered":
            status = "returned"
        else:
            status = NEXT_STATUS.get(status, "delivered")
        # Finished orders close; a delivered one stays open now and then for a return.
        finished = status in ("cancelled", "returned") or (
            status == "delivered" and rng.random() < 0.9
        )
        if finished:
            customer.open_orders.pop(order_id)
        else:
            customer.open_orders[order_id] = status
    else:
        order_id, status = gen.next_id("O"), "placed"
        customer.open_orders[order_id] = status
    return order_id, status


def _contact(customer: Customer) -> dict[str, Any]:
    return {"name": customer.name, "email": customer.email, "phone": customer.phone}


def _delivery(customer: Customer) -> dict[str, Any]:
    return {
        "country": customer.country,
        "postal_code": customer.postal_code,
        "prefecture": customer.prefecture,
        "address": customer.address,
    }


def _inquiry(gen: Generator, customer: Customer) -> dict[str, Any]:
    rng = gen.rng
    kind = rng.choice(
        ["question", "complaint", "consultation", "return_request", "privacy_request"]
    )
    return {
        **gen.common(customer, "inq"),
        "inquiry_id": gen.next_id("I"),
        "kind": kind,
        **_contact(customer),
        "related_order_id": rng.choice(sorted(customer.open_orders) or [None]),
        "subject": f"About my {kind.replace('_', ' ')}",
        "message": "Synthetic message text for testing; please reply.",
        "skin_concerns": rng.sample(["dryness", "redness", "spots", "oiliness"], 2)
        if kind == "consultation"
        else None,
    }


def _entry(gen: Generator, customer: Customer) -> dict[str, Any]:
    rng = gen.rng
    kind = rng.choice(["gift", "sample", "prize", "questionnaire", "monitor"])
    surveyed = kind in ("questionnaire", "monitor")
    return {
        **gen.common(customer, "ent"),
        "campaign_id": f"CP-{rng.randint(1, 6):02d}",
        "kind": kind,
        **_contact(customer),
        **_delivery(customer),
        "birth_year": customer.birth_year,
        "gender": customer.gender,
        "answers": {f"q{i}": rng.choice(["a", "b", "c", "d"]) for i in range(1, 4)}
        if surveyed
        else {},
        "product_sku": rng.choice(PRODUCTS)[0],
        "rating": rng.randint(1, 5) if surveyed else None,
        "comment": "Synthetic comment text." if surveyed and rng.random() < 0.5 else None,
        "won_prize": (rng.random() < 0.3) if kind == "prize" else None,
    }


def _consent(gen: Generator, customer: Customer) -> dict[str, Any]:
    rng = gen.rng
    scope = (
        "cross_border" if customer.country != "JP" and rng.random() < 0.4 else rng.choice(SCOPES)
    )
    value = {
        **gen.common(customer, "con"),
        "scope": scope,
        "granted": rng.random() < 0.75,
        "source": rng.choice(["web_form", "phone", "store"]),
    }
    if rng.random() < 0.05:  # a change that happened earlier arrives late
        value["event_time"] = gen.now - timedelta(hours=rng.randint(1, 48))
    return value


def _request(gen: Generator, customer: Customer) -> dict[str, Any]:
    rng = gen.rng
    return {
        **gen.common(customer, "req"),
        "kind": rng.choice(["suspend_use", "suspend_use", "resume_use"]),
        "identity_verified": rng.random() < 0.7,
    }


def _broken(gen: Generator) -> str:
    customer = gen.rng.choice(gen.customers)
    kind = gen.rng.randrange(4)
    if kind == 0:
        return '{"topic": "orders", "value": {"event_id": '  # cut off: not JSON
    if kind == 1:
        return dumps({"topic": "payments", "value": {"event_id": gen.next_id("bad")}})
    order = _order(gen, customer)
    if kind == 2:
        order.pop("status")
    else:
        order["payment_method"] = "barter"
    return dumps({"topic": topics.ORDERS, "value": order})


MAKERS: Final = {
    topics.ORDERS: _order,
    topics.INQUIRIES: _inquiry,
    topics.CAMPAIGN_ENTRIES: _entry,
    topics.CONSENTS: _consent,
    topics.SUBJECT_REQUESTS: _request,
}
