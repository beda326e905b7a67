"""``purposegate topics``: list, ``--create`` or ``--check`` every topic of the contract and the
policy (partitions, and each shared topic's retention and segment roll as its routes declare
them: the erasure bound, ``policy.erasure``).

``--create`` creates the missing topics and sets the policy's ``cleanup.policy``,
``retention.ms``, ``segment.ms`` and ``file.delete.delay.ms`` on existing ones where they differ
(one line each); with ``--acls`` (or ``PURPOSEGATE_ACLS=apply``) it creates the policy's ACLs as
well (``purposegate acls --apply``). ``--check`` prints one line per drift between the policy and
the broker and exits 1 when there is any, 0 when none. An unreachable broker is one line and
exit 2 (``main``'s error path).
"""

from __future__ import annotations

import argparse
from typing import Any

from broker.access import plan
from broker.acls import apply_plan
from broker.admin import ensure_topics, policy_topic_specs
from broker.clients import TOOL_BOOTSTRAP_TIMEOUT_MS
from broker.drift import apply_retention, broker_topics, drift
from config.settings import Settings
from policy.loader import load_policy


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "topics", help="list, --create or --check the pipeline's topics against the broker"
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--create",
        action="store_true",
        help="create the missing topics; set the policy's erasure bound on existing ones",
    )
    action.add_argument(
        "--check",
        action="store_true",
        help="report drift between the policy's topics and the broker (exit 1 when any)",
    )
    parser.add_argument(
        "--acls",
        action="store_true",
        help="with --create: create the policy's ACLs too (as `acls --apply`; also when "
        "PURPOSEGATE_ACLS=apply)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy = load_policy(settings.policy_file)
    # the topics follow from the routes alone: no pseudonym keys needed to list or create them
    specs = policy_topic_specs(settings, policy)
    timeout = {"bootstrap_timeout_ms": TOOL_BOOTSTRAP_TIMEOUT_MS}
    if args.create:
        # the plan before the broker: bad principal settings change nothing
        acls = plan(policy, settings) if args.acls or settings.acls == "apply" else None
        created = ensure_topics(settings, specs, **timeout)
        print(f"created {len(created)} topic(s); {len(specs) - len(created)} already existed")
        for line in apply_retention(settings, specs, broker_topics(settings, specs, **timeout)):
            print(line)
        for line in apply_plan(settings, acls, **timeout) if acls is not None else ():
            print(line)
        return 0
    if args.check:
        lines = drift(settings, specs, broker_topics(settings, specs, **timeout))
        for line in lines:
            print(line)
        if not lines:
            print(f"no drift: {len(specs)} topic(s) as the policy wants them")
        return 1 if lines else 0
    for spec in specs:
        config = ",".join(f"{k}={v}" for k, v in sorted(spec.config.items()))
        print(f"{settings.topic(spec.name)}\tpartitions={spec.partitions}\t{config}")
    return 0
