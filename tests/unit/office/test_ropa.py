"""The record of processing and provision (``office.ropa``): what each row says of the
shipped policy, and docs/ropa.md is its current Markdown."""

from __future__ import annotations

import hashlib

import pytest

from config.settings import REPO_ROOT
from office.ropa import BOUND_PLACEHOLDER, build_ropa
from office.ropa_render import render_markdown
from policy.basis import purpose_basis
from policy.history import read_policy
from policy.loader import DEFAULT_POLICY

POLICY, TEXT = read_policy(DEFAULT_POLICY)
ROPA = build_ropa(POLICY, TEXT)
ROWS = {(r.recipient, r.purpose): r for r in ROPA.rows}


def test_when_ropa_is_generated_then_committed_docs_ropa_md_is_current() -> None:
    committed = (REPO_ROOT / "docs" / "ropa.md").read_text(encoding="utf-8")
    assert committed == render_markdown(ROPA), (
        "docs/ropa.md is stale: run 'purposegate ropa --out docs/ropa.md'"
    )


def test_when_ropa_is_built_then_every_shared_topic_has_one_row() -> None:
    assert sorted(r.topic for r in ROPA.rows) == list(POLICY.shared_topics())


@pytest.mark.parametrize(
    ("key", "field", "expected"),
    [
        # consent-needing purpose abroad: consent, SG, the Art. 28 basis from the policy
        (("affectus", "marketing"), "basis", "consent"),
        (("affectus", "marketing"), "country", "SG"),
        (("affectus", "marketing"), "cross_border_basis",
         "customer consent (scope cross_border), APPI Article 28"),
        # in Japan: no cross-border basis
        (("septem-cargo", "fulfilment"), "cross_border_basis", None),
        # the entrant's application
        (("septem-cargo", "campaign"), "basis", "application"),
        # pseudonymised research, kept 90 days, read by its default group
        (("septem-souken", "product_development"), "pseudonymised", True),
        (("septem-souken", "product_development"), "retention_days", 90),
        (("septem-souken", "product_development"), "consumer_group",
         "septem-souken.product_development"),
        # marketing mailings kept 14 days; named records
        (("septem-communications", "marketing"), "retention_days", 14),
        (("septem-communications", "marketing"), "pseudonymised", False),
    ],
)  # fmt: skip
def test_when_a_route_is_in_the_policy_then_its_row_says_so(
    key: tuple[str, str], field: str, expected: object
) -> None:
    assert getattr(ROWS[key], field) == expected


@pytest.mark.parametrize(
    ("key", "subject_field"),
    [
        # a named route's record carries the recipient's subject id (CONTRACT rev. 3)
        (("septem-cargo", "fulfilment"), "subject_id"),
        (("septem-communications", "marketing"), "subject_id"),
        # a pseudonymised route's, the subject pseudonym
        (("septem-souken", "product_development"), "subject_pseudonym"),
    ],
)
def test_when_a_row_lists_fields_then_the_subject_field_is_the_one_the_record_carries(
    key: tuple[str, str], subject_field: str
) -> None:
    fields = ROWS[key].fields
    assert subject_field in fields
    other = ({"subject_id", "subject_pseudonym"} - {subject_field}).pop()
    assert other not in fields


def test_when_a_row_names_items_then_they_are_section6_items_and_never_email_or_free_text() -> None:
    allowed = {c.section6_item for c in POLICY.categories if c.shared_item}
    for row in ROPA.rows:
        assert set(row.items) <= allowed, row.topic
        assert not {"email", "message", "comment", "subject", "card_last4"} & set(row.fields)


def test_when_the_erasure_bound_is_shown_then_it_is_marked_as_a_placeholder() -> None:
    for row in ROPA.rows:
        assert row.erasure_bound == f"{row.retention_days} days {BOUND_PLACEHOLDER}"


@pytest.mark.parametrize(
    ("purpose", "basis"),
    [
        ("marketing", "consent"),  # needs consent
        ("monitoring_research", "consent"),  # needs consent
        ("campaign", "application"),  # the entrant applied
        ("complaint_handling", "legal_duty"),  # answering is a legal duty
        ("fulfilment", "contract"),  # the order
        ("product_development", "pseudonymised"),  # the policy: pseudonymised records only
    ],
)
def test_when_a_purpose_is_read_then_its_basis_is_the_one_place_rule(
    purpose: str, basis: str
) -> None:
    assert purpose_basis(POLICY.purpose(purpose)) == basis


def test_when_the_policy_file_is_hashed_then_the_ropa_names_its_sha256() -> None:
    assert ROPA.policy_sha256 == hashlib.sha256(TEXT.encode("utf-8")).hexdigest()
    assert ROPA.policy_version == POLICY.version
