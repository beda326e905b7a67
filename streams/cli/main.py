"""``purposegate``: the command line. Each subcommand lives in ``streams/cli/<name>.py``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from policy.errors import PurposegateError
from streams.settings import load_settings

#: Subcommand modules under ``streams.cli``, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "worker",
    "topics",
    "keys",
    "produce",
    "dump",
    "catalog",
    "check-policy",
    "dry-run",
    "explain",
    "sample",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="purposegate",
        description="Makes SEPTEM's privacy notice enforceable on Kafka, record by record.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"streams.cli.{name.replace('-', '_')}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            what = f"bad setting {where}" if where else "bad settings"
            print(f"purposegate: {what}: {message}", file=sys.stderr)
        return 2
    try:
        code: int = args.func(args, settings)
    except PurposegateError as exc:
        print(f"purposegate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
