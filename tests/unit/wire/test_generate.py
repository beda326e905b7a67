"""Output schemas are generated from the policy's routes and committed; they must stay current."""

from __future__ import annotations

from typing import Any

import pytest

from policy.errors import ConfigError
from policy.input_schemas import SCHEMAS_DIR
from policy.loader import load_policy
from wire import SchemaStore
from wire.generate import (
    ENVELOPE,
    FieldSpec,
    RouteSpec,
    load_checked,
    output_schema,
    render,
    stale_files,
)

STORE = SchemaStore.load()
POLICY = load_policy()
ENVELOPE_NAMES = [f["name"] for f in ENVELOPE]
#: Contract §3: never on a pseudonymised route.
IDENTIFYING = {"customer_id", "name", "email", "phone", "address", "postal_code"}
FREE_TEXT = {"message", "comment", "subject"}
NEVER_SHARED = {"email", "card_last4", "skin_concerns"} | FREE_TEXT


def test_when_policy_and_committed_output_schemas_compared_then_none_is_stale() -> None:
    rendered = render(POLICY, STORE)
    stale = stale_files(rendered, SCHEMAS_DIR / "output")
    assert stale == [], f"run 'python -m wire.generate' to refresh: {stale}"


def test_when_store_loaded_with_policy_then_it_checks_output_schemas() -> None:
    assert len(load_checked(POLICY).routes()) == len(POLICY.routes)


def _route(*fields: tuple[str, str, str], source: str = "campaign-entries") -> RouteSpec:
    return RouteSpec(
        "septem-souken", "monitoring_research", source, tuple(FieldSpec(*f) for f in fields)
    )


@pytest.mark.parametrize(
    ("field", "expected_type"),
    [
        (("name", "name", "keep"), "string"),  # keep: the input's type
        (("rating", "rating", "keep"), ["null", "int"]),  # keep of a nullable int stays nullable
        (("answers", "answers", "keep"), {"type": "map", "values": "string"}),  # complex type kept
        (("subject_pseudonym", "customer_id", "pseudonymise"), "string"),  # HMAC string
        (("birth_year_band", "birth_year", "generalise"), ["null", "string"]),  # band or null
        (("phone", "phone", "mask"), ["null", "string"]),  # masked text
        (("gender", "gender", "redact"), ["null", "string"]),  # always null
    ],
)
def test_when_route_field_generated_then_type_follows_operator(
    field: tuple[str, str, str], expected_type: Any
) -> None:
    source = STORE.get("CampaignEntry").source
    schema = output_schema(_route(field), source)
    names = [f["name"] for f in schema["fields"]]
    assert names[: len(ENVELOPE_NAMES)] == ENVELOPE_NAMES
    generated = schema["fields"][len(ENVELOPE_NAMES)]
    assert generated["name"] == field[0]
    assert generated["type"] == expected_type
    assert generated["doc"]


def test_when_route_names_a_field_the_input_lacks_then_config_error() -> None:
    with pytest.raises(ConfigError, match="no field 'shoe_size'"):
        output_schema(_route(("shoe_size", "shoe_size", "keep")), STORE.get("OrderEvent").source)


@pytest.mark.parametrize("schema", STORE.of_kind("output"), ids=lambda s: s.name)
def test_when_output_schema_committed_then_it_leaks_nothing_the_contract_forbids(
    schema: Any,
) -> None:
    # one row per route: never-shared fields never appear; pseudonymised routes identify no one
    names = set(schema.field_names)
    assert not names & NEVER_SHARED
    route = next(
        r
        for r in POLICY.routes
        if (r.recipient, r.purpose, r.source)
        == (schema.route.recipient, schema.route.purpose, schema.route.source_topic)
    )
    if route.pseudonymised:
        assert not names & IDENTIFYING
        assert "subject_pseudonym" in names
        assert "birth_year" not in names
    assert all(f.doc for f in schema.fields)
