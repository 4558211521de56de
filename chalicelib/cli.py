"""Majlis's command line for operators: ``python -m chalicelib.cli <command>``.

``mint-token`` creates an organizer token and prints it once; only its hash is stored.
It talks to the table named by ``MAJLIS_TABLE_NAME`` with the usual AWS credentials
(or, for local mode, ``AWS_ENDPOINT_URL`` set to the embedded AWS that ``make run``
prints).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from chalicelib import auth
from chalicelib.bootstrap import majlis


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    mint = commands.add_parser("mint-token", help="create an organizer token")
    mint.add_argument(
        "--event",
        action="append",
        required=True,
        help="an event id the token may act on, or '*' for all (repeatable)",
    )
    mint.add_argument(
        "--role",
        action="append",
        required=True,
        choices=auth.ROLES,
        help="read, send or admin (repeatable)",
    )
    mint.add_argument("--label", required=True, help="who or what the token is for")
    mint.add_argument("--days", type=int, default=None, help="expire after this many days")
    args = parser.parse_args(argv)

    wired = majlis()
    try:
        token = auth.mint(
            wired.tokens,
            events=args.event,
            roles=args.role,
            label=args.label,
            now=wired.clock(),
            valid_for=timedelta(days=args.days) if args.days else None,
        )
    except ValueError as error:
        parser.error(str(error))
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
