"""``purposegate topics``: list, ``--create`` or ``--check`` every topic of the contract and the
policy (partitions, and each shared topic's retention as its routes declare it).

``--create`` creates the missing topics and sets the policy's retention on existing ones whose
retention differs (one line each). ``--check`` prints one line per drift between the policy and
the broker and exits 1 when there is any, 0 when none. An unreachable broker is one line and
exit 2 (``main``'s error path).
"""

from __future__ import annotations

import argparse
from typing import Any

from policy.loader import load_policy
from streams.kafka.admin import ensure_topics, topic_specs
from streams.kafka.clients import TOOL_BOOTSTRAP_TIMEOUT_MS
from streams.kafka.drift import apply_retention, broker_topics, drift
from streams.settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "topics", help="list, --create or --check the pipeline's topics against the broker"
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--create",
        action="store_true",
        help="create the missing topics; set the policy's retention on existing ones",
    )
    action.add_argument(
        "--check",
        action="store_true",
        help="report drift between the policy's topics and the broker (exit 1 when any)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy = load_policy(settings.policy_file)
    # the topics follow from the routes alone: no pseudonym keys needed to list or create them
    specs = topic_specs(settings, policy.shared_topics(), policy.topic_retention())
    timeout = {"bootstrap_timeout_ms": TOOL_BOOTSTRAP_TIMEOUT_MS}
    if args.create:
        created = ensure_topics(settings, specs, **timeout)
        print(f"created {len(created)} topic(s); {len(specs) - len(created)} already existed")
        for line in apply_retention(settings, specs, broker_topics(settings, specs, **timeout)):
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
