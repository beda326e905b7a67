"""``purposegate``: the command line. Each subcommand lives in ``streams/cli/<name>.py``.

One error path for every command: a bad argument (argparse, with the types of
``streams.cli.args``), a bad setting, a ``PurposegateError`` or a file-system error while the
command runs each print one line on stderr naming the problem, and exit 2. No traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from pydantic import ValidationError

from policy.errors import PurposegateError
from streams.settings import load_settings

#: Subcommand modules under ``streams.cli``, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "worker",
    "topics",
    "acls",
    "keys",
    "produce",
    "dump",
    "catalog",
    "check-policy",
    "dry-run",
    "explain",
    "report",
    "erasures",
    "diff-policy",
    "linkability",
    "sample",
    "test-policy",
    "ropa",
    "affected",
    "policies",
)


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (no usage block), exit 2.
    Subcommand parsers are made of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="purposegate",
        description="Makes SEPTEM's privacy notice enforceable on Kafka, record by record.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"streams.cli.{name.replace('-', '_')}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a bad argument already reported in one line
        return exc.code if isinstance(exc.code, int) else 2
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
        print(f"purposegate {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `purposegate dump ... | head`
        return 0
    except OSError as exc:  # a file that changed between the argument check and its use
        where = f" {exc.filename}" if exc.filename else ""
        print(f"purposegate {args.command}: cannot use{where}: {_reason(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


if __name__ == "__main__":
    sys.exit(main())
