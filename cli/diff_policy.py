"""``purposegate diff-policy OLD.yaml NEW.yaml --input FILE [--format text|json]``: which
recipient gains or loses which item, for how many events and subjects, if NEW replaced OLD.

Decides every event of the JSON-lines input (``dry-run``'s format and order) under both
policies (``office.policy_diff``). Exit 0 when both decide every event alike, 1 when they
differ, 2 on a bad argument or a policy that does not load. Pseudonym keys are random for the
run: only which items go where is compared, never values. Prints event ids as examples and
counts of subjects, never a customer id.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cli import args as args_
from cli import progress
from config.settings import Settings
from office.policy_diff import diff_policies, render_json, render_text
from policy.compile import CompiledPolicy, compile_policy
from policy.errors import ConfigError
from policy.history import read_policy
from policy.keys import ephemeral_keys
from wire.event_source import Seen
from wire.jsonl import read_lines

FORMATS = {"text": render_text, "json": render_json}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff-policy",
        help="which recipient gains or loses which item, for how many events and subjects",
    )
    parser.add_argument(
        "old", metavar="OLD.yaml", type=args_.POLICY_FILE, help="the policy in force"
    )
    parser.add_argument(
        "new", metavar="NEW.yaml", type=args_.POLICY_FILE, help="the policy that would replace it"
    )
    parser.add_argument(
        "--input",
        type=args_.INPUT_LINES_OR_STDIN,
        required=True,
        metavar="FILE",
        help="JSON-lines input events, as for dry-run ('-': standard input)",
    )
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="text",
        help="text: a table for people (default); json: one document for scripts",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    old, new = compiled(args.old, settings), compiled(args.new, settings)
    seen = Seen()
    size = args.input.stat().st_size if args.input.is_file() else None
    with progress.bar(size, "B", desc="diff-policy") as shown:
        lines = progress.through(read_lines(args.input), shown, lambda line: len(line[1]) + 1)
        diff = diff_policies(
            lines, old, new, datetime.now(UTC), seen,
            lambda ordered: progress.counted(ordered, lambda: seen.valid, "events", desc="decide"),
        )  # fmt: skip
    seen.refuse_if_no_input(f"--input {args.input}")
    if not diff.events:
        raise ConfigError(
            f"--input {args.input}: no line is a valid event under either policy "
            f"({seen.input_records} input record(s), all refused): nothing to compare"
        )
    print(FORMATS[args.format](diff, args.old.name, args.new.name), end="")
    return 0 if diff.identical else 1


def compiled(path: Path, settings: Settings) -> CompiledPolicy:
    try:
        policy, _ = read_policy(path)
    except ConfigError as exc:  # the loader lists every fault, one a line: say one of them
        faults = str(exc).splitlines()
        first = f" (first: {faults[1].strip()})" if len(faults) > 1 else ""
        raise ConfigError(
            f"{faults[0].rstrip(':')}{first}; purposegate check-policy --policy {path} lists all"
        ) from None
    keys = ephemeral_keys(r.id for r in policy.recipients)
    return compile_policy(policy, keys, limits=settings.input_limits())
