"""``purposegate keys --init FILE``: a development file of per-recipient keys (one for every
recipient of the policy: its subject ids and pseudonyms)."""

from __future__ import annotations

import argparse
from typing import Any

from cli import args as args_
from config.settings import Settings
from policy.keys import write_dev_key_file
from policy.loader import load_policy


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "keys", help="write random per-recipient HMAC keys (subject ids, pseudonyms; dev/test)"
    )
    parser.add_argument(
        "--init",
        type=args_.output_file,
        required=True,
        metavar="FILE",
        help="the key file to write (mode 600), one random key per recipient of the policy; "
        "refused when it exists, unless --force",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    policy = load_policy(settings.policy_file)
    recipients = [recipient.id for recipient in policy.recipients]
    write_dev_key_file(args.init, recipients, overwrite=args.force)
    print(f"wrote {len(recipients)} pseudonym keys to {args.init} (mode 600); keep it secret")
    return 0
