"""Issue 27, item 3: ``test-policy`` takes partial expectations (unless the file asks for every
route), selects cases with ``--run``, reports in text, JSON or JUnit XML, and names the routes
no case exercised; unknown routes and reasons are refused (``newcomer_rows``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405 (our own output)

import pytest
import yaml

from cli.main import main

SHIPPED = Path(__file__).resolve().parents[3] / "policy" / "cases.yaml"
ORDER = "s5_order_in_jp_goes_to_carrier_settlement_and_statistics"


def cases_file(tmp_path: Path, every_route: bool, only: str = "septem-cargo/fulfilment") -> Path:
    """The shipped order case, expecting one route only."""
    document: dict[str, Any] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    document["name_every_route"] = every_route
    case = next(c for c in document["cases"] if c["name"] == ORDER)
    case["expect"] = {only: case["expect"][only]}
    document["cases"] = [case]
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("every_route", "code"),
    [
        # a case about one route: the others it reaches are not its business
        (False, 0),
        # the file asks for every route: the unnamed ones fail the case
        (True, 1),
    ],
)
def test_when_a_case_names_some_routes_then_it_holds_unless_every_route_is_asked(
    every_route: bool, code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test-policy", str(cases_file(tmp_path, every_route))]) == code
    assert ("but the case does not name it" in capsys.readouterr().out) == every_route


@pytest.mark.parametrize(
    ("argv", "ran"),
    [
        # a pattern some names match: only those
        (["--run", "^s10_"], "s10_"),
        # one case by its full name
        (["--run", f"^{ORDER}$"], ORDER),
    ],
)
def test_when_run_selects_cases_then_only_those_run(
    argv: list[str], ran: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test-policy", str(SHIPPED), "--format", "json", *argv]) == 0
    names = [case["name"] for case in json.loads(capsys.readouterr().out)["cases"]]
    assert names and all(name.startswith(ran) for name in names)


def test_when_run_matches_no_case_then_exit_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test-policy", str(SHIPPED), "--run", "^nothing$"]) == 2
    assert "no case name matches" in capsys.readouterr().err


def test_when_junit_is_asked_then_ci_reads_every_case_and_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test-policy", str(cases_file(tmp_path, True)), "--format", "junit"]) == 1
    root = ET.fromstring(capsys.readouterr().out)  # noqa: S314 (our own output)
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "1" and suite.get("failures") == "1"
    failure = suite.find("testcase/failure")
    assert failure is not None and "does not name it" in (failure.text or "")
    assert (suite.findtext("system-out") or "").startswith("coverage: ")


def test_when_cases_leave_routes_unexercised_then_the_coverage_names_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test-policy", str(cases_file(tmp_path, False)), "--format", "json"]) == 0
    coverage = json.loads(capsys.readouterr().out)["coverage"]
    # an order in JP reaches the carrier, settlement, mailings and statistics, not the
    # routes of other sources or of orders abroad
    assert "sptm-international/fulfilment/orders" in coverage["not_exercised"]
    assert "septem-cargo/fulfilment/orders" not in coverage["not_exercised"]
    assert coverage["routes"] > len(coverage["not_exercised"])
