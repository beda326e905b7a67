"""``purposegate ropa [--format markdown|csv|json] [--policy FILE] [--out FILE]``: the record of
processing and provision, from the policy alone (``office.ropa``). ``docs/ropa.md`` is
its Markdown for the shipped policy; a test fails when that file is stale."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli import args as args_
from config.settings import Settings
from office.ropa import build_ropa
from office.ropa_render import FORMATS
from policy.history import read_policy


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ropa",
        help="the record of processing and provision: per recipient and purpose the items, "
        "basis, country, safeguards, retention, erasure bound",
    )
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="markdown",
        help="markdown: the document (default); csv: one row per recipient and purpose; json",
    )
    parser.add_argument(
        "--policy", type=args_.POLICY_FILE, help="the policy (default: PURPOSEGATE_POLICY)"
    )
    parser.add_argument(
        "--out", type=args_.output_file, help="file to write (default: standard output)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy, text = read_policy(args.policy or settings.policy_file)
    rendered = FORMATS[args.format](build_ropa(policy, text))
    if args.out is None:
        sys.stdout.write(rendered)
    else:
        args.out.write_text(rendered, encoding="utf-8")
    return 0
