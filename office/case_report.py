"""The forms of ``test-policy``'s results: text for people, JSON for scripts, JUnit XML for CI
(every CI system reads it). Pure: results in, text out.

>>> results = CaseResults("abc", [Result("a", "Section 5", [])], ["x/y/orders"], routes=2)
>>> print(render_text(results, quiet=False), end="")
ok   a
test-policy: 1 case(s), 0 failed (policy abc)
coverage: 1 of 2 route(s) exercised; not exercised: x/y/orders
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final
from xml.etree import ElementTree as ET  # noqa: S405 (writes XML, parses none)


@dataclass(frozen=True)
class Result:
    """One case: its name, clause and differences ([] when it holds)."""

    name: str
    clause: str
    differences: list[str]


@dataclass
class CaseResults:
    policy_version: str
    results: list[Result]
    #: Route ids (``recipient/purpose/source``) no case's event was considered for.
    not_exercised: list[str] = field(default_factory=list)
    routes: int = 0

    @property
    def failed(self) -> int:
        return sum(1 for result in self.results if result.differences)


def coverage_line(results: CaseResults) -> str:
    reached = results.routes - len(results.not_exercised)
    missing = ", ".join(results.not_exercised) or "none"
    return f"coverage: {reached} of {results.routes} route(s) exercised; not exercised: {missing}"


def render_text(results: CaseResults, quiet: bool) -> str:
    lines: list[str] = []
    for result in results.results:
        clause = f" [{result.clause}]" if result.clause else ""
        if result.differences:
            lines.append(f"FAIL {result.name}{clause}")
            lines += [f"  {line}" for line in result.differences]
        elif not quiet:
            lines.append(f"ok   {result.name}")
    lines.append(
        f"test-policy: {len(results.results)} case(s), {results.failed} failed "
        f"(policy {results.policy_version})"
    )
    lines.append(coverage_line(results))
    return "\n".join(lines) + "\n"


def render_json(results: CaseResults, quiet: bool) -> str:
    document = {
        "policy_version": results.policy_version,
        "cases": [
            {"name": r.name, "clause": r.clause, "ok": not r.differences,
             "differences": r.differences}
            for r in results.results
            if r.differences or not quiet
        ],
        "failed": results.failed,
        "coverage": {"routes": results.routes, "not_exercised": results.not_exercised},
    }  # fmt: skip
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def render_junit(results: CaseResults, quiet: bool) -> str:
    suites = ET.Element("testsuites", tests=str(len(results.results)), failures=str(results.failed))
    suite = ET.SubElement(
        suites, "testsuite", name="test-policy", tests=str(len(results.results)),
        failures=str(results.failed), errors="0",
    )  # fmt: skip
    for result in results.results:
        case = ET.SubElement(
            suite, "testcase", name=result.name, classname=f"policy.{results.policy_version}"
        )
        if result.clause:
            properties = ET.SubElement(case, "properties")
            ET.SubElement(properties, "property", name="clause", value=result.clause)
        if result.differences:
            failure = ET.SubElement(
                case, "failure", message=f"{len(result.differences)} difference(s)"
            )
            failure.text = "\n".join(result.differences)
    ET.SubElement(suite, "system-out").text = coverage_line(results)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


FORMATS: Final[dict[str, Callable[[CaseResults, bool], str]]] = {
    "text": render_text, "json": render_json, "junit": render_junit,
}  # fmt: skip
