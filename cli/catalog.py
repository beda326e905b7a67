"""``purposegate catalog``: write the topic catalogue (docs/topics.md) from policy + schemas."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from broker.catalog import render_catalog
from cli import args as args_
from config.settings import REPO_ROOT, Settings
from policy.loader import load_policy
from wire.generate import load_checked

DEFAULT_OUT = REPO_ROOT / "docs" / "topics.md"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "catalog", help="write the topic catalogue (docs/topics.md) from the policy and schemas"
    )
    parser.add_argument(
        "--out", type=args_.output_file, default=DEFAULT_OUT, help="file to write, - for stdout"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when the file is not current"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy = load_policy(settings.policy_file)
    text = render_catalog(policy, load_checked(policy))
    if str(args.out) == "-":
        sys.stdout.write(text)
        return 0
    current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
    if args.check:
        if current != text:
            print(
                f"purposegate catalog: {args.out} is stale; run 'purposegate catalog'",
                file=sys.stderr,
            )
            return 1
        return 0
    if current != text:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"purposegate catalog: wrote {args.out}", file=sys.stderr)
    return 0
