"""One wire record per topic: shared topics' records merged from their routes, committed and
current; every route's value goes through its topic's record and comes back unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from policy.errors import ConfigError
from policy.input_schemas import SCHEMAS_DIR
from policy.loader import load_policy
from tests.unit.wire.samples import sample
from wire import Codec, Decoded, SchemaStore
from wire.codec import EncodeError
from wire.generate import rendered_dirs, stale_files
from wire.topic_schemas import merge, wire_schemas

POLICY = load_policy()
STORE = SchemaStore.load()
ENVELOPE = [{"name": "event_id", "type": "string"}, {"name": "source_topic", "type": "string"}]
ITEM = {"type": "record", "name": "Item", "fields": [{"name": "sku", "type": "string"}]}


def _route(source: str, *fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "record",
        "name": f"RFrom{source.capitalize()}",
        "namespace": "t",
        "purposegate.route": {"recipient": "r", "purpose": "p", "source_topic": source},
        "fields": [*ENVELOPE, *fields],
    }


def _fields(record: dict[str, Any]) -> dict[str, Any]:
    return {f["name"]: (f["type"], f.get("default", "-")) for f in record["fields"][2:]}


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        # one source: its fields as they are
        ([_route("a", {"name": "x", "type": "string"})], {"x": ("string", "-")}),
        # two sources with the same field: it keeps its type
        (
            [_route("a", {"name": "x", "type": "int"}), _route("b", {"name": "x", "type": "int"})],
            {"x": ("int", "-")},
        ),
        # a field of one source only: nullable, default null, for the other source
        (
            [_route("a", {"name": "x", "type": "int"}), _route("b", {"name": "y", "type": "int"})],
            {"x": (["null", "int"], None), "y": (["null", "int"], None)},
        ),
        # an already nullable field of one source: null moves first (the default's branch)
        (
            [_route("a", {"name": "x", "type": ["int", "null"]}), _route("b")],
            {"x": (["null", "int"], None)},
        ),
        # a named type both sources use: defined once, then named
        (
            [
                _route("a", {"name": "items", "type": {"type": "array", "items": ITEM}}),
                _route("b", {"name": "more", "type": ITEM}),
            ],
            {
                "items": (["null", {"type": "array", "items": ITEM}], None),
                "more": (["null", "Item"], None),
            },
        ),
    ],
)
def test_when_routes_merged_then_one_record_with_every_field(
    routes: list[dict[str, Any]], expected: dict[str, Any]
) -> None:
    merged = merge("shared.r.p", routes)
    assert merged["name"] == "RP"
    assert merged["purposegate.topic"]["sources"] == [r["name"][5:].lower() for r in routes]
    assert _fields(merged) == expected


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        # the same name with two types: a reader could not tell them apart
        (
            [
                _route("a", {"name": "x", "type": "int"}),
                _route("b", {"name": "x", "type": "string"}),
            ],
            "field 'x' has one type in the records of a and another in those of b",
        ),
        # two different types with one name
        (
            [
                _route("a", {"name": "i", "type": ITEM}),
                _route("b", {"name": "j", "type": {**ITEM, "fields": []}}),
            ],
            "two different Avro types are named Item",
        ),
    ],
)
def test_when_routes_conflict_then_config_error(routes: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        merge("shared.r.p", routes)


def test_when_policy_and_committed_topic_schemas_compared_then_none_is_stale() -> None:
    rendered = rendered_dirs(POLICY, STORE)["topics"]
    assert stale_files(rendered, SCHEMAS_DIR / "topics") == [], "run python -m wire.generate"
    assert sorted(rendered) == sorted(f"{t}.avsc" for t in set(POLICY.shared_topics()))


def test_when_wire_schemas_listed_then_every_topic_of_the_policy_has_one_record() -> None:
    wire = wire_schemas(POLICY, STORE)
    assert set(wire) == {
        *POLICY.inputs,
        *POLICY.shared_topics(),
        "purposegate.audit",
        "purposegate.dlq",
        "purposegate.policies",
        "purposegate.shadow",
        "purposegate.erasures",
    }
    assert all(wire[t].kind == "topics" for t in POLICY.shared_topics())


CODEC = Codec(STORE, wire_format="single-object")
CODEC.bind_topics(wire_schemas(POLICY, STORE))


@pytest.mark.parametrize("route", STORE.routes(), ids=lambda r: f"{r.topic}<-{r.source_topic}")
def test_when_route_value_sent_through_its_topic_record_then_it_comes_back_unchanged(
    route: Any,
) -> None:
    schema = STORE.output_schema(route.recipient, route.purpose, route.source_topic)
    assert schema is not None
    value = {**sample(schema), "source_topic": route.source_topic}
    decoded = CODEC.decode(CODEC.encode_for(route.topic, value))
    assert decoded == Decoded(STORE.topic_schema(route.topic).name, value)  # type: ignore[union-attr]


def test_when_topic_not_bound_then_encode_error_names_it() -> None:
    with pytest.raises(EncodeError, match="no schema bound to topic 'shared.nobody.nothing'"):
        CODEC.encode_for("shared.nobody.nothing", {})


def test_when_confluent_without_registry_then_binding_says_how_to_run_without_one() -> None:
    with pytest.raises(ConfigError, match="PURPOSEGATE_WIRE_FORMAT=single-object"):
        Codec(STORE, wire_format="confluent").bind_topics(wire_schemas(POLICY, STORE))
