"""``purposegate schemas --check | --release [--allow-breaking]``: the current schemas against
the released ones (``schemas/released/``, ``wire.compat``'s rules), or released.

``--check`` (the default) prints every released schema the current set breaks and exits 1 when
there is one; ``--release`` copies the current schemas over ``schemas/released/`` after the same
check (refused on a break unless ``--allow-breaking``: a deliberate break, after telling the
consumers). ``make check-schemas`` and ``make release-schemas`` call it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli import args as args_
from config.settings import Settings
from policy.input_schemas import SCHEMAS_DIR
from wire.compat import RELEASED_DIR, release, release_problems


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schemas", help="check the schemas against schemas/released/, or release them"
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--check", action="store_true", help="report every incompatibility (the default)"
    )
    what.add_argument("--release", action="store_true", help="make them the released set")
    parser.add_argument(
        "--allow-breaking", action="store_true", help="release despite incompatibilities"
    )
    parser.add_argument(
        "--schemas",
        type=args_.input_dir,
        default=SCHEMAS_DIR,
        metavar="DIR",
        help="the current schemas (default: schemas/)",
    )
    parser.add_argument(
        "--released",
        type=args_.input_dir,
        default=RELEASED_DIR,
        metavar="DIR",
        help="the released schemas (default: schemas/released/)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    problems = release_problems(args.released, args.schemas)
    for problem in problems:
        print(f"incompatible with the released schema: {problem}", file=sys.stderr)
    if not args.release:
        return 1 if problems else 0
    if problems and not args.allow_breaking:
        print(
            "not released: fix the changes above (add fields with defaults, widen types only), "
            "or release a deliberate break with --allow-breaking (make release-schemas "
            "ALLOW_BREAKING=1) after telling the consumers",
            file=sys.stderr,
        )
        return 1
    release(args.schemas, args.released)
    count = sum(1 for _ in args.released.glob("*/*.avsc"))
    print(f"released {count} schemas to {args.released}")
    return 0
