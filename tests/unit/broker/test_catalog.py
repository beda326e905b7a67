"""The topic catalogue (docs/topics.md) is generated from policy + schemas and kept current."""

from __future__ import annotations

import pytest

from broker.catalog import render_catalog
from config.settings import REPO_ROOT
from policy.loader import load_policy
from wire.generate import load_checked

POLICY = load_policy()
TEXT = render_catalog(POLICY, load_checked(POLICY))


def test_when_catalogue_generated_then_committed_docs_topics_md_is_current() -> None:
    committed = (REPO_ROOT / "docs" / "topics.md").read_text(encoding="utf-8")
    assert committed == TEXT, "docs/topics.md is stale: run 'purposegate catalog'"


@pytest.mark.parametrize(
    "expected",
    [
        "### `shared.sptm-international.fulfilment`",  # every shared topic has a section
        "SPTM International Pty. Ltd. (`sptm-international`), AU",  # company and country
        "`cross_border`",  # a foreign recipient needs cross-border consent
        "| consent needed | `monitoring_research`",  # a consent-needing purpose says so
        # a generalised field: its band, category and operator with parameters
        "| `birth_year_band` | string (nullable) | `birth_year` | birth_year | generalise (width",
        # a pseudonymised route's key field
        "| `subject_pseudonym` | string | `customer_id` | identifier | pseudonymise |",
        "### `purposegate.audit`",  # the privacy office's topics
        "### `purposegate.dlq`",  # the DLQ too
        "### `subject-requests`",  # and the inputs
        "retention | 30 days",  # shared topics' retention
        "3 years",  # audit retention
    ],
)
def test_when_catalogue_generated_then_it_states(expected: str) -> None:
    assert expected in TEXT


def test_when_catalogue_generated_then_every_shared_topic_is_described() -> None:
    for topic in POLICY.shared_topics():
        assert f"### `{topic}`" in TEXT
