"""``purposegate sample --seed N --customers N``: write a synthetic input stream (JSON lines)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli import args as args_
from config.settings import Settings
from wire.sample import sample_lines


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sample", help="write a synthetic input stream (JSON lines)")
    parser.add_argument(
        "--seed",
        type=args_.count(0),
        default=1,
        help="random seed: the same arguments give the same file (default: 1)",
    )
    parser.add_argument(
        "--customers", type=args_.count(1), default=50, help="customers to draw (default: 50)"
    )
    parser.add_argument(
        "--events",
        type=args_.count(1),
        help="lines to write, --invalid of them included (default: 10 per customer)",
    )
    parser.add_argument(
        "--invalid",
        type=args_.count(0),
        default=0,
        metavar="N",
        help="how many of the --events lines are broken (DLQ material), at random places; "
        "the file keeps --events lines",
    )
    parser.add_argument(
        "--out", type=args_.output_file, metavar="FILE", help="output file (default: stdout)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    count = args.events if args.events is not None else 10 * args.customers
    lines = sample_lines(args.seed, args.customers, count, args.invalid)
    if args.out is None:
        for line in lines:
            sys.stdout.write(line + "\n")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line + "\n")
    broken = min(args.invalid, count)
    print(f"sample: {count} line(s), {broken} of them broken -> {args.out}")
    return 0
