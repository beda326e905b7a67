"""``purposegate check-policy``: the policy against the input schemas; one line per fault."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli import args as args_
from config.settings import Settings
from policy.errors import ConfigError
from policy.loader import check_policy, load_policy


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check-policy",
        help="validate the policy against the input schemas (non-zero exit on any fault)",
    )
    parser.add_argument(
        "--policy", type=args_.POLICY_FILE, help="policy file (default: PURPOSEGATE_POLICY)"
    )
    parser.add_argument(
        "--schemas",
        type=args_.input_dir,
        help="directory of the input .avsc files (default: schemas/input)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.policy or settings.policy_file
    try:  # PURPOSEGATE_POLICY is no argument: its file is checked here, named once
        path.read_bytes()
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise ConfigError(f"cannot read policy {path}: {reason}") from None
    faults = check_policy(path, args.schemas)
    if faults:
        for fault in faults:
            print(f"{path}: {fault.removeprefix(f'{path}: ')}")
        print(f"{len(faults)} fault(s)")
        return 1
    policy = load_policy(path)
    print(
        f"{path}: ok (version {policy.version}; {len(policy.purposes)} purposes, "
        f"{len(policy.recipients)} recipients, {len(policy.routes)} routes)"
    )
    return 0
