"""What the worker's calls into ``broker.metrics`` count, and that no label can carry
personal data. Metrics are process-wide, so every test compares before and after."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

import pytest
from prometheus_client.parser import text_string_to_metric_families

from broker import metrics, metrics_page
from policy import validation
from policy.state import SubjectState
from policy.step import step
from tests.unit.broker.series import value_of
from tests.unit.policy import samples as samples
from wire import codec

ALLOWED_LABELS = {
    "source_topic",
    "recipient",
    "purpose",
    "outcome",
    "reason",
    "field_category",
    "error_kind",
    "change",  # gained | lost: purposegate_shadow_differences_total
    "detector",  # email, phone, ...: purposegate_content_redactions_total
    "topic",
    "partition",
    "version",
    "le",
}


@dataclass(frozen=True)
class Route:
    recipient: str
    purpose: str
    outcome: str
    reason: str
    redacted_categories: Sequence[str] = ()
    content_redactions: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class Tomb:
    reason: str


@dataclass(frozen=True)
class Decision:
    source_topic: str
    decisions: Sequence[Route] = ()
    tombstones: Sequence[Tomb] = ()
    unclassified_fields: Sequence[str] = field(default_factory=tuple)


CARGO_OK = Route("septem-cargo", "fulfilment", "forwarded", "permitted", ("contact", "contact"))
AFFECTUS_BLOCKED = Route("affectus", "marketing", "blocked", "cross_border_consent_missing")


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        # one forwarded and one blocked route: the event counts as forwarded
        (
            Decision("orders", (CARGO_OK, AFFECTUS_BLOCKED)),
            {
                ("purposegate_events_total", ("orders", "forwarded")): 1,
                (
                    "purposegate_decisions_total",
                    ("septem-cargo", "fulfilment", "forwarded", "permitted"),
                ): 1,
                (
                    "purposegate_decisions_total",
                    ("affectus", "marketing", "blocked", "cross_border_consent_missing"),
                ): 1,
                (
                    "purposegate_fields_redacted_total",
                    ("septem-cargo", "fulfilment", "contact"),
                ): 2,
            },
        ),
        # every route blocked: the event counts as blocked, nothing redacted
        (
            Decision("campaign-entries", (AFFECTUS_BLOCKED,)),
            {
                ("purposegate_events_total", ("campaign-entries", "blocked")): 1,
                ("purposegate_fields_redacted_total", ("affectus", "marketing", "contact")): 0,
            },
        ),
        # no route at all (an inquiry nobody receives) is blocked too
        (Decision("inquiries"), {("purposegate_events_total", ("inquiries", "blocked")): 1}),
        # a consent change: state, and its withdrawal notices counted by reason
        (
            Decision("consents", tombstones=(Tomb("consent_withdrawn"), Tomb("consent_withdrawn"))),
            {
                ("purposegate_events_total", ("consents", "state")): 1,
                ("purposegate_withdrawals_total", ("consent_withdrawn",)): 2,
            },
        ),
        # unclassified fields are counted per field, by source topic
        (
            Decision("orders", unclassified_fields=("gift_note", "loyalty_tier")),
            {("purposegate_unclassified_fields_total", ("orders",)): 2},
        ),
    ],
)
def test_when_decision_observed_then_counters_move(
    decision: Decision, expected: dict[tuple[str, tuple[str, ...]], float]
) -> None:
    label_names = {
        "purposegate_events_total": ("source_topic", "outcome"),
        "purposegate_decisions_total": ("recipient", "purpose", "outcome", "reason"),
        "purposegate_fields_redacted_total": ("recipient", "purpose", "field_category"),
        "purposegate_withdrawals_total": ("reason",),
        "purposegate_unclassified_fields_total": ("source_topic",),
    }
    keys = {key: dict(zip(label_names[key[0]], key[1], strict=True)) for key in expected}
    before = {key: value_of(key[0], **labels) for key, labels in keys.items()}
    metrics.observe_decision(decision)
    after = {key: value_of(key[0], **labels) for key, labels in keys.items()}
    assert {key: after[key] - before[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("error_kind", "counted_as"),
    [
        ("malformed", "malformed"),  # a codec kind keeps its name
        ("missing_field", "missing_field"),  # a validation kind too
        ("KeyError: 'customer_id' in {'name': 'Hanako'}", "other"),  # free text never a label
    ],
)
def test_when_dlq_observed_then_kind_is_from_the_closed_list(
    error_kind: str, counted_as: str
) -> None:
    before_dlq = value_of("purposegate_dlq_total", source_topic="orders", error_kind=counted_as)
    before_events = value_of("purposegate_events_total", source_topic="orders", outcome="dlq")
    metrics.observe_dlq("orders", error_kind)
    assert (
        value_of("purposegate_dlq_total", source_topic="orders", error_kind=counted_as) - before_dlq
        == 1
    )
    assert value_of("purposegate_events_total", source_topic="orders", outcome="dlq") == (
        before_events + 1
    )


@pytest.mark.parametrize(
    ("seconds", "bucket"),
    [
        (0.0004, "0.0005"),  # under the smallest bucket
        (0.003, "0.005"),  # a typical event
        (4.0, "5.0"),  # a broker stall
    ],
)
def test_when_processing_observed_then_histogram_bucket_counts_it(
    seconds: float, bucket: str
) -> None:
    name = "purposegate_processing_seconds_bucket"
    before = value_of(name, le=bucket)
    metrics.observe_processing(seconds)
    assert value_of(name, le=bucket) == before + 1


@pytest.mark.parametrize(
    ("version", "exported"),
    [
        ("3f2a9c", "3f2a9c"),  # a policy hash as is
        ("a" * 100, "a" * metrics.MAX_LABEL_LENGTH),  # cut to the label length cap
    ],
)
def test_when_policy_version_set_then_info_carries_it(version: str, exported: str) -> None:
    metrics.set_policy_version(version)
    assert value_of("purposegate_policy_info", version=exported) == 1


@pytest.mark.parametrize(
    "count",
    [
        0,  # an empty table at start-up
        12_345,  # after recovery
    ],
)
def test_when_consent_subjects_set_then_gauge_shows_it(count: int) -> None:
    metrics.set_consent_subjects(count)
    assert value_of("purposegate_consent_subjects") == count


@pytest.mark.parametrize(
    ("source_topic", "label"),
    [
        ("orders", ("orders", "dlq")),  # every input topic starts at 0 ...
        ("subject-requests", ("subject-requests", "forwarded")),  # ... for every outcome
    ],
)
def test_when_series_initialised_then_they_exist_before_any_event(
    source_topic: str, label: tuple[str, str]
) -> None:
    metrics.initialise_series()
    sample = metrics.REGISTRY.get_sample_value(
        "purposegate_events_total", {"source_topic": label[0], "outcome": label[1]}
    )
    assert sample is not None
    dlq = metrics.REGISTRY.get_sample_value(
        "purposegate_dlq_total", {"source_topic": source_topic, "error_kind": "malformed"}
    )
    assert dlq is not None


@pytest.mark.parametrize(
    "kinds",
    [
        get_args(codec.ErrorKind),  # every way bytes fail to decode
        get_args(validation.ErrorKind),  # every way a record breaks the contract
        ("key_mismatch", "internal_error"),  # the flow's own (flow/path.py)
    ],
)
def test_when_a_component_names_an_error_kind_then_it_is_a_label_value(
    kinds: tuple[str, ...],
) -> None:
    assert set(kinds) <= set(metrics.ERROR_KINDS)


def test_when_rendered_then_purposegate_series_use_only_allowed_labels() -> None:
    metrics.observe_decision(Decision("orders", (CARGO_OK,)))
    metrics.observe_dlq("orders", "truncated")
    metrics.set_policy_version("abc")
    text = metrics_page.render_metrics().decode()
    seen: set[str] = set()
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("purposegate_"):
            continue
        for sample in family.samples:
            seen.update(sample.labels)
    assert seen and seen <= ALLOWED_LABELS, seen - ALLOWED_LABELS


@pytest.mark.parametrize(
    ("topic", "value", "state", "outcome"),
    [
        # a JP order with every consent: forwarded to at least septem-cargo
        ("orders", samples.order(), samples.everything_granted(), "forwarded"),
        # a monitor entry without consent: every route blocked (no_consent)
        ("campaign-entries", samples.entry(kind="monitor"), samples.state(), "blocked"),
        # an inquiry no group company receives is blocked too
        ("inquiries", samples.inquiry(), samples.state(), "blocked"),
        # a consent withdrawal is a state event
        ("consents", samples.consent("marketing", False), samples.state("marketing"), "state"),
    ],
)
def test_when_engine_decision_observed_then_it_is_counted(
    topic: str, value: dict[str, Any], state: SubjectState, outcome: str
) -> None:
    checked = samples.event(topic, value)
    _, decision = step(checked, state, samples.compiled())
    observed: metrics.DecisionLike = decision  # the engine's Decision fits the Protocol
    before = value_of("purposegate_events_total", source_topic=topic, outcome=outcome)
    metrics.observe_decision(observed)
    assert value_of("purposegate_events_total", source_topic=topic, outcome=outcome) == before + 1


def _lost(item: str) -> dict[str, str]:
    return {"recipient": "septem-cargo", "purpose": "fulfilment", "item": item, "change": "lost"}


@pytest.mark.parametrize(
    ("differences", "counted"),
    [
        ([_lost("phone")], 1.0),  # one item lost: one count
        ([_lost("phone"), _lost("address")], 1.0),  # two items of one route: still one event
        ([], 0.0),  # no difference: nothing counted
    ],
)
def test_when_shadow_differences_observed_then_one_count_per_event_and_route_change(
    differences: list[dict[str, str]], counted: float
) -> None:
    labels = {"recipient": "septem-cargo", "purpose": "fulfilment", "change": "lost"}
    before = value_of("purposegate_shadow_differences_total", **labels)
    metrics.observe_shadow(differences)
    assert value_of("purposegate_shadow_differences_total", **labels) - before == counted
