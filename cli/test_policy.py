"""``purposegate test-policy CASES.yaml``: the privacy office's cases, checked against the policy.

Each case (``policy.cases``) goes through the same ``policy.step.step`` as the worker and
``dry-run``. A case that holds prints ``ok``; one that does not prints ``FAIL`` and one line per
difference; the last line says which routes no case exercised (``--format json|junit`` for
scripts and CI). Exit 0 when every case holds, 1 when any fails; a bad case file (a route or
reason the policy does not have, or a case whose records the input rules refuse) is one line
on stderr and exit 2, before any case runs.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from cli import args as args_
from config.settings import Settings
from office.case_report import FORMATS, CaseResults, Result
from office.case_run import check_case
from policy.case_check import case_faults, considered, not_exercised
from policy.cases import CaseFile, load_cases
from policy.compile import compile_policy
from policy.errors import ConfigError
from policy.keys import ephemeral_keys
from policy.loader import load_policy


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "test-policy", help="check the privacy office's expected outcomes per route"
    )
    parser.add_argument(
        "cases",
        type=args_.CASES_FILE,
        metavar="CASES.yaml",
        help="the case file (templates and cases; policy/cases.yaml is the office's)",
    )
    parser.add_argument(
        "--policy", type=args_.POLICY_FILE, help="policy file (default: PURPOSEGATE_POLICY)"
    )
    parser.add_argument("--quiet", action="store_true", help="print only the failing cases")
    parser.add_argument(
        "--run",
        type=pattern,
        metavar="PATTERN",
        help="run only the cases whose name matches this regular expression (as go test -run)",
    )
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="text",
        help="text (default), json (one document) or junit (JUnit XML for CI)",
    )
    parser.set_defaults(func=run)


def pattern(text: str) -> re.Pattern[str]:
    """A regular expression (``--run``)."""
    try:
        return re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pattern ({exc})") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy = load_policy(args.policy or settings.policy_file)
    # pseudonym values are never compared: keys for this run only
    compiled = compile_policy(policy, ephemeral_keys(r.id for r in policy.recipients))
    cases = load_cases(args.cases)
    faults = case_faults(cases, policy)
    if faults:
        more = f" (and {len(faults) - 1} more)" if len(faults) > 1 else ""
        raise ConfigError(f"{args.cases}: {faults[0]}{more}")
    results = CaseResults(policy.version, [], routes=len(policy.routes))
    exercised: set[str] = set()
    for case in selected(cases, args.run):
        decision, differences = check_case(case, cases.templates, compiled, cases.name_every_route)
        exercised |= considered(decision, case.event.topic)
        results.results.append(Result(case.name, case.clause, differences))
    results.not_exercised = not_exercised(policy, exercised)
    print(FORMATS[args.format](results, args.quiet), end="")
    return 1 if results.failed else 0


def selected(cases: CaseFile, run: re.Pattern[str] | None) -> list[Any]:
    """The cases ``--run`` selects (all without it); none selected is a bad argument."""
    chosen = [case for case in cases.cases if run is None or run.search(case.name)]
    if not chosen:
        raise ConfigError(f"--run {run.pattern if run else ''}: no case name matches")
    return chosen
