"""``purposegate acls``: the Kafka ACLs the policy implies (``broker.access``).

``--plan`` (the default) prints them as a table (``--format json``: one object per ACL);
``--apply`` creates the missing ones; ``--check`` prints one line per drift (missing, too
broad, extra) and exits 1 when there is any, 0 when none. Talking to the broker needs a
principal that may describe and alter ACLs; a broker without an authorizer, a refusal or an
unreachable broker is one line and exit 2 (``main``'s error path).
"""

from __future__ import annotations

import argparse
from typing import Any

from broker.access import as_json, plan, table
from broker.acl_drift import drift
from broker.acls import apply_plan, broker_bindings
from broker.clients import TOOL_BOOTSTRAP_TIMEOUT_MS
from config.settings import Settings
from policy.loader import load_policy


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "acls", help="the Kafka ACLs the policy implies: --plan, --apply or --check them"
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--plan", action="store_true", help="print who may read and write what (the default)"
    )
    action.add_argument("--apply", action="store_true", help="create the missing ACLs")
    action.add_argument(
        "--check",
        action="store_true",
        help="report ACLs missing, too broad or outside the plan (exit 1 when any)",
    )
    parser.add_argument(
        "--format", choices=("table", "json"), default="table", help="how --plan prints"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    wanted = plan(load_policy(settings.policy_file), settings)
    timeout = {"bootstrap_timeout_ms": TOOL_BOOTSTRAP_TIMEOUT_MS}
    if args.apply:
        for line in apply_plan(settings, wanted, **timeout):
            print(line)
        return 0
    if args.check:
        found = drift(wanted, broker_bindings(settings, **timeout))
        for difference in found:
            print(difference.line())
        if not found:
            print(f"no drift: the broker holds the {len(wanted)} ACL(s) of the plan, no others")
        return 1 if found else 0
    print(as_json(wanted) if args.format == "json" else table(wanted) + "\n", end="")
    return 0
