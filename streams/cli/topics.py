"""``purposegate topics``: list or create every topic of the contract and the policy."""

from __future__ import annotations

import argparse
from typing import Any

from policy.compile import compile_policy
from policy.keys import load_keys
from policy.loader import load_policy
from streams.kafka.admin import ensure_topics, topic_specs
from streams.kafka.clients import TOOL_BOOTSTRAP_TIMEOUT_MS
from streams.settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("topics", help="list (or --create) the pipeline's topics")
    parser.add_argument("--create", action="store_true", help="create the missing topics")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    compiled = compile_policy(load_policy(settings.policy_file), load_keys(settings))
    specs = topic_specs(settings, compiled.shared_topics)
    if args.create:
        created = ensure_topics(settings, specs, bootstrap_timeout_ms=TOOL_BOOTSTRAP_TIMEOUT_MS)
        print(f"created {len(created)} topic(s); {len(specs) - len(created)} already existed")
        return 0
    for spec in specs:
        config = ",".join(f"{k}={v}" for k, v in sorted(spec.config.items()))
        print(f"{settings.topic(spec.name)}\tpartitions={spec.partitions}\t{config}")
    return 0
