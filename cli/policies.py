"""``purposegate policies [--audit FILE] [--policy-history PATH] [--format text|json]``: every
policy version the workers ran, when each first and last decided, and what changed from the one
before (``office.policy_history``).

On Kafka: the versions kept on ``purposegate.policies`` and, from ``purposegate.audit``, each
version's first and last record, read from the ``purposegate-policy-version`` header of every
record (nothing decoded). From a file: the versions beside it (``purposegate.policies.jsonl``),
``--policy-history`` and the policy in force, and the times of its lines (a dump's timestamps;
a dry run's event times).
"""

from __future__ import annotations

import argparse
from typing import Any

from broker.versions import audit_uses
from cli.explain import add_audit_sources, add_kept_on_kafka, local_history
from config.settings import Settings
from office.policy_history import FORMATS, history
from office.policy_uses import file_uses
from policy.errors import ConfigError
from policy.history import PolicyHistory
from policy.models import Policy


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "policies",
        help="every policy version the workers ran: when it first and last decided, what "
        "changed from the one before",
    )
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="text",
        help="text: each version, when it decided, its diff to the one before (default); json",
    )
    add_audit_sources(
        parser,
        audit_help="a JSON-lines audit file (default: the purposegate.audit topic)",
        policy_help="a policy file to list too (besides PURPOSEGATE_POLICY)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    kept = local_history(args, settings)
    if args.audit:
        uses = file_uses(args.audit)
        versions = [v for v in kept.versions() if v in uses]
    else:
        before = set(kept.versions())
        add_kept_on_kafka(kept, settings)
        uses = audit_uses(settings)
        # the policy files given here are listed only when they decided, or were kept on Kafka
        on_kafka = set(kept.versions()) - before
        versions = [v for v in kept.versions() if v in uses or v in on_kafka]
    print(FORMATS[args.format](history(versions, uses, lookup(kept))), end="")
    return 0


def lookup(kept: PolicyHistory) -> Any:
    def find(version: str) -> Policy | None:
        if version not in kept:
            return None
        try:
            return kept.get(version)
        except ConfigError:  # kept but no longer loads: listed as not readable
            return None

    return find
