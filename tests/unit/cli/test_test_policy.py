"""``purposegate test-policy``: the shipped cases hold; a case that does not prints a readable
diff and exits 1; a bad case file is one line on stderr and exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.main import main

SHIPPED = Path(__file__).resolve().parents[3] / "policy" / "cases.yaml"


def test_when_the_shipped_cases_are_run_then_every_case_holds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["test-policy", str(SHIPPED)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith("test-policy: ") and ", 0 failed" in out[-2]
    assert out[-1].startswith("coverage: ")
    assert not [line for line in out if line.startswith("FAIL")]


def shipped_with(change: Any) -> dict[str, Any]:
    """The shipped case file with ``change(document)`` applied."""
    document: dict[str, Any] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    change(document)
    return document


def case(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in document["cases"] if c["name"] == name)
    return found


MAIL = "septem-communications/marketing"
ORDER_CASE = "s5_order_in_jp_goes_to_carrier_settlement_and_statistics"


def expect_forwarded_mail(d: dict[str, Any]) -> None:
    case(d, ORDER_CASE)["expect"][MAIL] = {"outcome": "forwarded", "reason": "permitted"}


def forget_a_route(d: dict[str, Any]) -> None:
    del case(d, ORDER_CASE)["expect"]["enfinity/product_development"]


def expect_email_sent(d: dict[str, Any]) -> None:
    route = case(d, ORDER_CASE)["expect"]["septem-cargo/fulfilment"]
    route["fields_sent"] = [*route["fields_sent"][:-1], "email"]


def expect_a_route_not_considered(d: dict[str, Any]) -> None:
    case(d, "s5_complaint_stays_at_septem")["expect"] = {MAIL: {"outcome": "blocked"}}


def expect_no_notice(d: dict[str, Any]) -> None:
    case(d, "s10_withdrawal_notifies_only_topics_that_hold_the_key")["tombstones"] = []


FAILING = [
    # the policy blocks what the case expects forwarded: outcome and reason both shown
    (expect_forwarded_mail, [
        f"  {MAIL}: expected forwarded, got blocked (no_consent)",
        f"  {MAIL}: expected reason permitted, got no_consent",
    ]),
    # a route considered that the case does not name (as after a policy edit adds one)
    (forget_a_route, [
        "  enfinity/product_development: forwarded (permitted), but the case does not name it"
    ]),
    # a field expected that the route never sends, and the one it sends instead
    (expect_email_sent, [
        "  septem-cargo/fulfilment: fields sent: expected but not there: email; there but not "
        "expected: country"
    ]),
    # a route the event is never considered for
    (expect_a_route_not_considered, [
        f"  {MAIL}: expected blocked, but the route was not considered (its condition does not "
        "hold, or the event is not tagged with its purpose)"
    ]),
    # withdrawal notices
    (expect_no_notice, [
        "  withdrawal notices: expected none, got shared.septem-communications.marketing"
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("change", "diff"), FAILING)
def test_when_a_case_does_not_hold_then_its_diff_is_printed_and_exit_is_1(
    change: Any, diff: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(shipped_with(change), sort_keys=False), encoding="utf-8")
    assert main(["test-policy", str(path), "--quiet"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL ") and out[1:-2] == diff
    assert ", 1 failed" in out[-2]


def lowercase_country(d: dict[str, Any]) -> None:
    case(d, ORDER_CASE)["event"]["value"] = {"country": "jp"}


def unknown_key(d: dict[str, Any]) -> None:
    case(d, ORDER_CASE)["expected"] = {}


def same_name_twice(d: dict[str, Any]) -> None:
    d["cases"].append(d["cases"][0])


def no_time(d: dict[str, Any]) -> None:
    del case(d, ORDER_CASE)["event"]["at"]


def bad_outcome(d: dict[str, Any]) -> None:
    case(d, ORDER_CASE)["expect"][MAIL] = {"outcome": "sent"}


BAD_FILES: list[tuple[str | Any, str]] = [
    # not YAML at all
    ("cases: [\n", "not a case file (not valid YAML: line 2, column 1"),
    # YAML, but not a case file
    ("- just\n- a list\n", "not a case file (no top-level 'cases:')"),
    # an empty file
    ("", "is empty"),
    # a record the input rules refuse (country in lower case): named, no value quoted
    (lowercase_country, f"case {ORDER_CASE}: event: orders: field 'country'"),
    # a key a case may not have
    (unknown_key, "cases.0.expected: Extra inputs are not permitted"),
    # one name for two cases
    (same_name_twice, f"case name '{ORDER_CASE}' is used more than once"),
    # an event without its time
    (no_time, "cases.0.event.at: Field required"),
    # an outcome that is neither forwarded nor blocked
    (bad_outcome, "cases.0.expect.septem-communications/marketing.outcome: Input should be"),
]


@pytest.mark.parametrize(("content", "says"), BAD_FILES)
def test_when_the_case_file_is_bad_then_one_line_and_exit_2(
    content: str | Any, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cases.yaml"
    text = content if isinstance(content, str) else yaml.safe_dump(shipped_with(content))
    path.write_text(text, encoding="utf-8")
    assert main(["test-policy", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert says in line and "Traceback" not in line
