"""Fail closed at every depth: every key of every input record, nested ones included, is
classified or withheld (and audited by path); output values are built from the route's
allowlist at every depth; check-policy names an unclassified schema field at any depth."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from broker import metrics
from policy.compile import compile_policy
from policy.engine import decide
from policy.errors import ConfigError
from policy.input_schemas import default_schemas_dir
from policy.loader import DEFAULT_POLICY, check_policy, load_policy
from tests.unit.policy.samples import (
    TEST_KEYS,
    compiled,
    entry,
    event,
    everything_granted,
    inquiry,
    order,
)

LINE = {"sku": "S", "product_name": "P", "quantity": 1, "unit_price_jpy": 100}
ITEM_KEYS = set(LINE)

UNCLASSIFIED = [
    # a key the policy does not know inside an order line
    ("orders", order(items=[{**LINE, "card_number": "4111SECRET"}]), ["items[].card_number"]),
    # the same key in two lines is listed once; another line's key too
    (
        "orders",
        order(
            items=[
                {**LINE, "card_number": "SECRET1"},
                {**LINE, "cvv": "SECRET2"},
                {**LINE, "card_number": "SECRET3"},
            ]
        ),
        ["items[].card_number", "items[].cvv"],
    ),  # fmt: skip
    # a new top-level field
    ("orders", order(foo="SECRET"), ["foo"]),
    # a new top-level field that holds a record, and a nested one
    (
        "orders",
        order(foo={"bar": "SECRET"}, items=[{**LINE, "x": {"y": "SECRET"}}]),
        ["foo", "items[].x"],
    ),  # fmt: skip
    # nothing unknown: nothing listed
    ("orders", order(), []),
    # a new field in a campaign entry (answers' keys are data, not fields)
    (
        "campaign-entries",
        entry(kind="monitor", answers={"q9": "a"}, loyalty="SECRET"),
        ["loyalty"],
    ),  # fmt: skip
    # a new field in an inquiry, which forwards nothing
    ("inquiries", inquiry(note="SECRET"), ["note"]),
]


@pytest.mark.parametrize(("topic", "value", "paths"), UNCLASSIFIED)
def test_when_a_key_is_unclassified_at_any_depth_then_it_is_withheld_and_audited_by_path(
    topic: str, value: dict[str, Any], paths: list[str]
) -> None:
    decision = decide(event(topic, value), everything_granted(), compiled())
    audit = decision.audit_record()
    assert audit["unclassified_fields"] == paths
    for output in decision.outputs:
        assert "SECRET" not in json.dumps(output.value, default=str)
    for route in audit["decisions"]:
        if route["outcome"] == "forwarded" and paths:
            assert set(paths) <= set(route["fields_redacted"])


def test_when_unclassified_keys_are_seen_then_the_metric_counts_them_by_topic_only() -> None:
    before = metrics.UNCLASSIFIED_FIELDS.counts[("orders",)]
    value = order(items=[{**LINE, "card_number": "SECRET"}], foo="SECRET")
    metrics.observe_decision(decide(event("orders", value), everything_granted(), compiled()))
    assert metrics.UNCLASSIFIED_FIELDS.counts[("orders",)] == before + 2
    assert all(len(labels) == 1 for labels in metrics.UNCLASSIFIED_FIELDS.counts)


def test_when_items_are_kept_then_each_line_is_a_new_record_of_classified_keys_only() -> None:
    lines = [{**LINE, "card_number": "SECRET"}, dict(LINE)]
    value = order(country="AU", items=lines)
    decision = decide(event("orders", value), everything_granted(), compiled())
    kept = [o for o in decision.outputs if "items" in o.value]
    # the pseudonymised routes get product groups, not lines (unlinkable by value)
    assert {o.recipient for o in kept} == {"sptm-international"}
    for output in kept:
        assert [set(line) for line in output.value["items"]] == [ITEM_KEYS, ITEM_KEYS]
        assert all(a is not b for a, b in zip(output.value["items"], lines, strict=True))
        assert output.value["items"] is not lines
    grouped = [o.value["items_band"] for o in decision.outputs if "items_band" in o.value]
    assert len(grouped) == 2 and all(band == ["other"] for band in grouped)  # "S" is in no group
    assert "card_number" in lines[0]  # the input is not touched


def test_when_answers_are_kept_then_they_are_a_new_map_of_strings() -> None:
    answers = {"q1": "a1", "q2": "a2"}
    decision = decide(
        event("campaign-entries", entry(kind="monitor", answers=answers)),
        everything_granted(),
        compiled(),
    )
    (output,) = [o for o in decision.outputs if o.purpose == "monitoring_research"]
    assert output.value["answers"] == answers and output.value["answers"] is not answers


def _schemas_with_item_field(tmp_path: Path, name: str) -> Path:
    schemas = tmp_path / "schemas"
    shutil.copytree(default_schemas_dir(), schemas)
    path = schemas / "OrderEvent.avsc"
    document = json.loads(path.read_text(encoding="utf-8"))
    items = next(f for f in document["fields"] if f["name"] == "items")
    items["type"]["items"]["fields"].append({"name": name, "type": "string"})
    path.write_text(json.dumps(document), encoding="utf-8")
    return schemas


def test_when_a_nested_schema_field_is_unclassified_then_check_policy_names_its_path(
    tmp_path: Path,
) -> None:
    schemas = _schemas_with_item_field(tmp_path, "card_number")
    faults = check_policy(None, schemas)
    assert [re.sub(r" \(line \d+, column \d+\)$", "", fault) for fault in faults] == [
        "inputs.orders.nested.items[]: schema field 'items[].card_number' of OrderEvent "
        "has no data category",
        "free_form.strings.orders: string 'items[].card_number' of OrderEvent has no kind",
    ]
    with pytest.raises(ConfigError, match=r"items\[\]\.card_number"):
        compile_policy(load_policy(), TEST_KEYS, schemas)


def _policy(tmp_path: Path, edit: Any) -> Path:
    document = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    edit(document)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _classify_card(document: dict[str, Any]) -> None:
    document["inputs"]["orders"]["nested"]["items[]"]["card_number"] = "payment_card"


def _nest_unknown_path(document: dict[str, Any]) -> None:
    document["inputs"]["orders"]["nested"]["lines[]"] = {"sku": "purchase"}


def _range_on_unknown_path(document: dict[str, Any]) -> None:
    document["inputs"]["orders"]["ranges"]["items[].weight"] = [0, None]


def _order_id_to_souken(document: dict[str, Any]) -> None:
    for route in document["routes"]:
        if route["recipient"] == "septem-souken" and route["source"] == "orders":
            route["fields"] = {**route["fields"], "order_id": "keep"}


POLICY_FAULTS = [
    # a card field classified inside items: every route that keeps items lets it out
    (_classify_card, "'items[].card_number' is not a Section 6 shared item (payment_card)"),
    # a nested classification of a record the schema does not have
    (_nest_unknown_path, "inputs.orders.nested.lines[]: 'lines' is not a classified field"),
    # a range on a path nobody classifies
    (_range_on_unknown_path, "inputs.orders.ranges.items[].weight: not a classified field"),
    # an order id on a pseudonymised route: it joins the record back to a named order
    (_order_id_to_souken, "'order_id' (record_reference) may not go on a pseudonymised route"),
]


@pytest.mark.parametrize(("edit", "fault"), POLICY_FAULTS)
def test_when_policy_breaks_a_rule_at_depth_then_check_policy_names_it(
    tmp_path: Path, edit: Any, fault: str
) -> None:
    schemas = _schemas_with_item_field(tmp_path, "card_number")
    faults = check_policy(_policy(tmp_path, edit), schemas)
    assert any(fault in f for f in faults), faults
