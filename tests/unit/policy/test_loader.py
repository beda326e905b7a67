"""The shipped policy loads and matches the schemas; broken policies fail with the bad entry
named, one message per fault."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policy.errors import ConfigError
from policy.loader import DEFAULT_POLICY, check_policy, load_policy, policy_version
from tests.unit.policy.policy_files import Doc, route, shipped, write


def test_when_shipped_policy_is_checked_then_it_has_no_fault() -> None:
    assert check_policy() == []
    policy = load_policy()
    assert len(policy.version) == 16
    assert {r.id for r in policy.recipients} == {
        "septem-cargo", "septem-financial", "septem-communications", "septem-souken",
        "enfinity", "sptm-international", "affectus",
    }  # fmt: skip


def test_when_only_comments_change_then_the_version_stays(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("# another comment\n" + DEFAULT_POLICY.read_text(encoding="utf-8"))
    assert load_policy(path).version == load_policy().version


def test_when_an_entry_changes_then_the_version_changes(tmp_path: Path) -> None:
    doc = shipped()
    route(doc, "septem-financial", "fulfilment")["fields"].pop("status")
    assert load_policy(write(tmp_path, doc)).version != load_policy().version
    assert policy_version(doc) == load_policy(write(tmp_path, doc)).version


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return edit


def _route_field(
    recipient: str, purpose: str, field: str, op: Any, source: str = "orders"
) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        route(doc, recipient, purpose, source)["fields"][field] = op

    return edit


def _route_key(
    recipient: str, purpose: str, key: str, value: Any, source: str = "orders"
) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        route(doc, recipient, purpose, source)[key] = value

    return edit


def _by(key: str, **groups: list[str]) -> Doc:
    """A ``generalise`` of order lines by one of their keys (``groups``: a default one)."""
    return {"op": "generalise", "by": key, "groups": groups or {"care": ["SKU-1"]}}


def _append_route(extra: Doc) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        doc["routes"].append(extra)

    return edit


BROKEN: list[tuple[Callable[[Doc], None], str]] = [
    # a pseudonymised route sending the amount exactly as the settlement route does: a join key
    (
        _route_field("enfinity", "product_development", "total_jpy", "keep"),
        "route enfinity/product_development from orders, fields.total_jpy: sent exactly as "
        "septem-financial/fulfilment/orders sends it",
    ),
    # a time grain on a named route: only pseudonymised routes are coarsened
    (
        _route_key("septem-financial", "fulfilment", "time_grain", "month"),
        "route septem-financial/fulfilment from orders, time_grain: only a pseudonymised "
        "route's event time is coarsened",
    ),
    # `only` naming a key that is not inside the field
    (
        _route_field(
            "enfinity", "product_development", "items", {"op": "keep", "only": ["colour"]}
        ),
        "route enfinity/product_development from orders, fields.items.only: 'colour' is no "
        "key inside items",
    ),
    # order lines generalised without saying by which of their keys
    (
        _route_field("enfinity", "product_development", "items", {"op": "generalise"}),
        "route enfinity/product_development from orders, fields.items: holds records; "
        "generalise it by one of their keys (by, groups)",
    ),
    # `by` naming a key that is not inside the order lines
    (
        _route_field("enfinity", "product_development", "items", _by("colour")),
        "route enfinity/product_development from orders, fields.items.by: 'colour' is no key "
        "inside the records of items",
    ),
    # `by` on a field that holds no records
    (
        _route_field("enfinity", "product_development", "status", _by("sku")),
        "route enfinity/product_development from orders, fields.status.by: 'sku' is no key "
        "inside the records of status",
    ),
    # `by` without groups: nothing says what a value becomes
    (
        _route_field("enfinity", "product_development", "items", {"op": "generalise", "by": "sku"}),
        "route enfinity/product_development from orders, fields.items.by: needs groups",
    ),
    # one SKU in two groups: which group it goes as would depend on the order of the entries
    (
        _route_field("enfinity", "product_development", "items", _by("sku", care=["S"], sun=["S"])),
        "route enfinity/product_development from orders, fields.items.groups: 'S' is listed in "
        "2 groups",
    ),
    # two kinds of band for one field
    (
        _route_field(
            "enfinity",
            "product_development",
            "country",
            {"op": "generalise", "keep_values": ["JP"], "groups": {"asia": ["JP", "SG"]}},
        ),
        "route enfinity/product_development from orders, fields.country: generalise takes one "
        "of width, keep_values, groups",
    ),  # fmt: skip
    # groups for an operator that does not band
    (
        _route_field("septem-financial", "fulfilment", "status", {"op": "keep", "groups": {}}),
        "route septem-financial/fulfilment from orders, fields.status.groups: Dictionary should "
        "have at least 1 item",
    ),
    (
        _route_field("septem-financial", "fulfilment", "status", _by("sku") | {"op": "keep"}),
        "route septem-financial/fulfilment from orders, fields.status: operator keep takes no "
        "parameter 'by'",
    ),
    # e-mail to a group company
    (
        _route_field("septem-cargo", "fulfilment", "email", "keep"),
        "route septem-cargo/fulfilment from orders, fields: 'email' is not a Section 6 shared "
        "item (contact_email)",
    ),
    # card digits, even masked
    (
        _route_field("septem-financial", "fulfilment", "card_last4", "mask"),
        "route septem-financial/fulfilment from orders, fields: 'card_last4' is not a Section 6 "
        "shared item (payment_card)",
    ),
    # free text
    (
        _route_field("septem-cargo", "campaign", "comment", "keep", "campaign-entries"),
        "route septem-cargo/campaign from campaign-entries, fields: 'comment' is not a Section 6 "
        "shared item (free_text)",
    ),
    # a name on a pseudonymised route
    (
        _route_field("enfinity", "product_development", "name", "keep"),
        "route enfinity/product_development from orders, fields: 'name' (contact_name) may not go "
        "on a pseudonymised route",
    ),
    # a postal code on a pseudonymised route
    (
        _route_field("septem-souken", "product_development", "postal_code", "keep"),
        "route septem-souken/product_development from orders, fields: 'postal_code' (address) may "
        "not go on a pseudonymised route",
    ),
    # the customer id in clear on a pseudonymised route
    (
        _route_field("enfinity", "product_development", "customer_id", "keep"),
        "a pseudonymised route needs customer_id: pseudonymise",
    ),
    # an exact birth year on a pseudonymised route
    (
        _route_field(
            "septem-souken", "product_development", "birth_year", "keep", "campaign-entries"
        ),
        "'birth_year' (birth_year) goes on a pseudonymised route generalised only",
    ),
    # product development without pseudonymisation
    (
        _route_key("enfinity", "product_development", "pseudonymised", False),
        "route enfinity/product_development from orders: purpose 'product_development' is "
        "pseudonymised only",
    ),
    # an unknown recipient
    (
        _route_key("septem-financial", "fulfilment", "recipient", "septem-bank"),
        "route septem-bank/fulfilment from orders: unknown recipient 'septem-bank'",
    ),
    # a purpose Section 5 does not have
    (
        _route_key("septem-financial", "fulfilment", "purpose", "profiling"),
        "route septem-financial/profiling from orders: unknown purpose 'profiling' (not a "
        "Section 5 purpose)",
    ),
    # an unknown source topic
    (
        _route_key("septem-financial", "fulfilment", "source", "payments"),
        "route septem-financial/fulfilment from payments: unknown source topic 'payments'",
    ),
    # a field the source topic does not have
    (
        _route_field("septem-financial", "fulfilment", "iban", "keep"),
        "route septem-financial/fulfilment from orders, fields: 'iban' is not a field of orders",
    ),
    # an operator that does not exist
    (
        _route_field("septem-financial", "fulfilment", "name", "encrypt"),
        "route septem-financial/fulfilment from orders, fields.name.op: Input should be",
    ),
    # an operator parameter for another operator
    (
        _route_field("septem-financial", "fulfilment", "name", {"op": "keep", "width": 10}),
        "route septem-financial/fulfilment from orders, fields.name: operator keep takes no "
        "parameter 'width'",
    ),
    # a condition value outside the enum
    (
        _route_key("septem-cargo", "fulfilment", "when", [{"status": {"eq": "delivred"}}]),
        "route septem-cargo/fulfilment from orders, when[0].status: 'delivred' is not one of",
    ),
    # a route whose purpose is never tagged on its source
    (
        _append_route(
            {
                "recipient": "septem-souken",
                "purpose": "skin_support",
                "source": "orders",
                "fields": {"order_id": "keep"},
            }
        ),
        "route septem-souken/skin_support from orders: purpose 'skin_support' is never tagged on "
        "orders events",
    ),  # fmt: skip
    # the same route twice
    (
        _append_route(
            {
                "recipient": "septem-financial",
                "purpose": "fulfilment",
                "source": "orders",
                "fields": {"order_id": "keep"},
            }
        ),
        "routes: 'septem-financial/fulfilment/orders' is declared 2 times",
    ),  # fmt: skip
    # an unknown key anywhere (extra="forbid")
    (
        _route_key("septem-financial", "fulfilment", "priority", 1),
        "route septem-financial/fulfilment from orders, priority: unknown key",
    ),
    # a foreign recipient without a cross-border basis
    (
        _set(("recipients", 5, "cross_border_basis"), None),
        "recipients.sptm-international: outside JP",
    ),
    # a field classified with a category that does not exist
    (
        _set(("inputs", "orders", "fields", "email"), "contact"),
        "inputs.orders.fields.email: unknown category 'contact'",
    ),
    # a suspension exemption that is no purpose
    (
        _set(("suspension_exempt",), ["fulfilment", "billing"]),
        "suspension_exempt: unknown purpose 'billing'",
    ),
    # a tagging rule naming no purpose of Section 5
    (
        _set(("tagging", "orders", 0, "purposes"), ["upselling"]),
        "tagging.orders[0]: unknown purpose 'upselling'",
    ),
    # a duplicate purpose
    (
        _set(("purposes", 1, "id"), "order_communication"),
        "purposes: id 'order_communication' is declared 2 times",
    ),
    # the raw customer id to a named route without saying why
    (
        _route_field("septem-financial", "fulfilment", "customer_id", "keep"),
        "route septem-financial/fulfilment from orders, fields.customer_id: keep of the raw "
        "customer id needs a reason",
    ),
    # no subject id at all on a named route
    (
        _route_field("septem-financial", "fulfilment", "customer_id", "drop"),
        "route septem-financial/fulfilment from orders, fields.customer_id: pseudonymise (the "
        "subject id), or keep with a reason",
    ),
    # a purpose that needs consent with another basis
    (
        _set(("purposes", 2, "basis"), "contract"),
        "purposes.marketing.basis: 'contract' but needs_consent is true",
    ),
    # consent as the basis of a purpose that needs none
    (
        _set(("purposes", 1, "basis"), "consent"),
        "purposes.fulfilment.basis: 'consent' but needs_consent is false",
    ),
    # the pseudonymised basis on a purpose that is not pseudonymised only
    (
        _set(("purposes", 3, "basis"), "pseudonymised"),
        "purposes.campaign.basis: 'pseudonymised' exactly when pseudonymised_only",
    ),
]


@pytest.mark.parametrize(("edit", "fault"), BROKEN)
def test_when_policy_is_broken_then_check_policy_names_the_entry(
    tmp_path: Path, edit: Callable[[Doc], None], fault: str
) -> None:
    doc = shipped()
    edit(doc)
    path = write(tmp_path, doc)
    faults = check_policy(path)
    assert any(fault in f for f in faults), faults
    with pytest.raises(ConfigError, match="fault"):
        load_policy(path)


def test_when_several_faults_exist_then_every_one_is_reported(tmp_path: Path) -> None:
    doc = shipped()
    _route_field("septem-cargo", "fulfilment", "email", "keep")(doc)
    _route_field("enfinity", "product_development", "phone", "keep")(doc)
    faults = check_policy(write(tmp_path, doc))
    # each names its route and where it is in the file; the phone kept is also a join key to
    # every named route that keeps it (one fault each)
    located = [re.sub(r" \(line \d+, column \d+\)$", "", fault) for fault in faults]
    assert located[:2] == [
        "route septem-cargo/fulfilment from orders, fields: 'email' is not a Section 6 shared "
        "item (contact_email)",
        "route enfinity/product_development from orders, fields: 'phone' (contact_phone) may not "
        "go on a pseudonymised route",
    ]
    assert all("phone: sent exactly as" in fault for fault in located[2:]) and located[2:]
    assert all(re.search(r"\(line \d+, column \d+\)$", fault) for fault in faults[:2])
