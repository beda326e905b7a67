"""``purposegate linkability --input FILE [--format text|json]``: per pseudonymised route, the
share of its records that join to exactly one named record of another recipient by the values
both carry (docs/contract.md §3; goal at most 1%).

Decides the JSON-lines input as ``dry-run`` does (random pseudonym keys: only values are
compared) and measures the outputs (``office.linkage``, ``policy.linkability``). Exit 0
when every route meets the goal by both readings (linked and joined), 1 when one is over it,
2 on a bad argument.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from cli import args as args_
from config.settings import Settings
from office.linkage import linkability, render_json, render_text
from policy.compile import compile_policy
from policy.history import read_policy
from policy.keys import ephemeral_keys
from wire.jsonl import read_lines

FORMATS = {"text": render_text, "json": render_json}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "linkability",
        help="per pseudonymised route, the share of records that join to one named record",
    )
    parser.add_argument(
        "--input",
        type=args_.INPUT_LINES,
        required=True,
        metavar="FILE",
        help="JSON-lines input events, as for dry-run",
    )
    parser.add_argument(
        "--policy", type=args_.POLICY_FILE, help="policy file (default: PURPOSEGATE_POLICY)"
    )
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="text",
        help="text: a table per route (default); json: the same figures, one object per route",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy, _ = read_policy(args.policy or settings.policy_file)
    keys = ephemeral_keys(r.id for r in policy.recipients)
    compiled = compile_policy(policy, keys, limits=settings.input_limits())
    found = linkability(read_lines(args.input), compiled, datetime.now(UTC))
    print(FORMATS[args.format](found), end="")
    return 1 if any(row.over_goal for row in found) else 0
