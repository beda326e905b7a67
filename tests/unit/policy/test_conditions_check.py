"""Issue 27, item 2: ``check-policy`` refuses a condition that can never hold (a value outside
the field's domain: enum, ISO code, range, Avro type), naming the route by recipient and purpose
with the line and column of the test in the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy.loader import DEFAULT_POLICY, check_policy

LOCATED = re.compile(r"\(line (\d+), column (\d+)\)$")


def with_condition(tmp_path: Path, when: list[dict[str, Any]]) -> Path:
    """The shipped policy, its campaign route to septem-cargo testing ``when`` instead."""
    document = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    route = next(
        r
        for r in document["routes"]
        if (r["recipient"], r["purpose"]) == ("septem-cargo", "campaign")
    )
    route["when"] = when
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("when", "says"),
    [
        # a country in lower case: no valid record has it (input rules want upper case)
        ([{"country": {"eq": "jp"}}], "when[0].country: 'jp' is not an assigned ISO 3166-1 "
         "alpha-2 code in upper case (JP?)"),
        # a code nobody was assigned
        ([{"country": {"in": ["JP", "XX"]}}], "'XX' is not an assigned ISO 3166-1"),
        # a boolean field tested against a string: conditions do not convert
        ([{"won_prize": {"eq": "true"}}], "when[0].won_prize: 'true' is no boolean"),
        # a rating outside its range
        ([{"rating": {"eq": 9}}], "when[0].rating: 9 is outside 1..5"),
        # a rating that is no number
        ([{"rating": {"eq": "5"}}], "when[0].rating: '5' is not a whole number"),
        # an enum value with a typo, in the second alternative
        ([{"kind": {"eq": "gift"}}, {"kind": {"eq": "prise"}}],
         "when[1].kind: 'prise' is not one of"),
    ],
)  # fmt: skip
def test_when_a_condition_can_never_hold_then_check_policy_names_route_line_and_column(
    when: list[dict[str, Any]], says: str, tmp_path: Path
) -> None:
    path = with_condition(tmp_path, when)
    faults = [f for f in check_policy(path) if says in f]
    assert len(faults) == 1, check_policy(path)
    assert faults[0].startswith("route septem-cargo/campaign from campaign-entries, when[")
    line, column = (int(n) for n in LOCATED.search(faults[0]).groups())  # type: ignore[union-attr]
    named = re.search(r"when\[\d+\]\.(\w+)", says)
    field = named.group(1) if named else "country"
    assert field in path.read_text().splitlines()[line - 1][column - 1 :]


@pytest.mark.parametrize(
    "when",
    [
        # the shipped kind of test: an upper-case code, a boolean, an enum value
        [{"kind": {"eq": "prize"}, "won_prize": {"eq": True}, "country": {"eq": "JP"}}],
        # a rating in range, a list of assigned codes
        [{"rating": {"in": [4, 5]}, "country": {"not_in": ["AU", "SG"]}}],
    ],
)
def test_when_every_value_is_in_its_domain_then_no_condition_fault(
    when: list[dict[str, Any]], tmp_path: Path
) -> None:
    assert [f for f in check_policy(with_condition(tmp_path, when)) if "when[" in f] == []
