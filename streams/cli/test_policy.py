"""``purposegate test-policy CASES.yaml``: the privacy office's cases, checked against the policy.

Each case (``policy.cases``) goes through the same ``policy.step.step`` as the worker and
``dry-run``. A case that holds prints ``ok``; one that does not prints ``FAIL`` and one line per
difference. Exit 0 when every case holds, 1 when any fails; a bad case file (or a case whose
records the input rules refuse) is one line on stderr and exit 2, before any case runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from policy.case_run import run_case
from policy.cases import load_cases
from policy.compile import compile_policy
from policy.keys import ephemeral_keys
from policy.loader import load_policy
from streams.cli import args as args_
from streams.settings import Settings


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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy = load_policy(args.policy or settings.policy_file)
    # pseudonym values are never compared: keys for this run only
    compiled = compile_policy(policy, ephemeral_keys(r.id for r in policy.recipients))
    cases = load_cases(args.cases)
    results = [(case, run_case(case, cases.templates, compiled)) for case in cases.cases]
    failed = 0
    for case, differences in results:
        clause = f" [{case.clause}]" if case.clause else ""
        if differences:
            failed += 1
            print(f"FAIL {case.name}{clause}")
            print("\n".join(f"  {line}" for line in differences))
        elif not args.quiet:
            print(f"ok   {case.name}")
    print(f"test-policy: {len(results)} case(s), {failed} failed (policy {policy.version})")
    return 1 if failed else 0
