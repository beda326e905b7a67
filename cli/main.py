"""``purposegate``: the command line. Each subcommand lives in ``cli/<name>.py``.

One error path for every command: a bad argument (argparse, with the types of
``cli.args``), a bad setting, a ``PurposegateError`` or a file-system error while the
command runs each print one line on stderr naming the problem, and exit 2. No traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any, NoReturn

from pydantic import ValidationError

from config.settings import Settings, load_settings
from policy.errors import PurposegateError

#: Subcommand modules under ``cli``, in the order ``--help`` lists them.
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
    "schemas",
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
    parser.add_argument(
        "--version", action="version", version=f"purposegate {version()}", help=VERSION_HELP
    )
    add_bootstrap(parser, default=None)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"cli.{name.replace('-', '_')}").register(subparsers)
    for command in subparsers.choices.values():  # every command, a new one too
        add_bootstrap(command, default=argparse.SUPPRESS)
    return parser


VERSION_HELP = "print purposegate's version and exit"


def add_bootstrap(parser: argparse.ArgumentParser, default: Any) -> None:
    """``-b/--bootstrap HOST:PORT[,...]`` (kcat's flag): the Kafka brokers, over
    ``KAFKA_BOOTSTRAP``. Before or after the command name; after it, SUPPRESS keeps a value
    given before."""
    parser.add_argument(
        "-b",
        "--bootstrap",
        type=bootstrap,
        default=default,
        metavar="HOST:PORT",
        help="Kafka bootstrap servers, host:port[,host:port...] (overrides KAFKA_BOOTSTRAP; "
        "for the commands that reach Kafka)",
    )


def bootstrap(text: str) -> str:
    """Kafka bootstrap servers: ``host:port``, comma-separated (kcat's ``-b``).

    >>> bootstrap("127.0.0.1:9092, broker-2:9093")
    '127.0.0.1:9092,broker-2:9093'
    """
    hosts = [part.strip() for part in text.split(",")]
    for host in hosts:
        name, _, number = host.rpartition(":")
        if not name or not number.isdigit() or not 1 <= int(number) <= 65_535:
            raise argparse.ArgumentTypeError(f"expected host:port[,host:port...], got {text!r}")
    return ",".join(hosts)


def version() -> str:
    """The installed package's version."""
    try:
        return metadata.version("purposegate")
    except metadata.PackageNotFoundError:  # run from a tree that is not installed
        return "unknown"


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings from the environment, ``--bootstrap`` over ``KAFKA_BOOTSTRAP``."""
    if getattr(args, "bootstrap", None):
        return Settings.model_validate({"KAFKA_BOOTSTRAP": args.bootstrap})
    return load_settings()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a bad argument already reported in one line
        return exc.code if isinstance(exc.code, int) else 2
    try:
        settings = settings_for(args)
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
