"""Majlis's command line for operators: ``python -m chalicelib.cli <command>``.

``mint-token`` creates an organizer token and prints it once; only its hash is stored.
It talks to the table named by ``MAJLIS_TABLE_NAME`` with the usual AWS credentials
(or, for local mode, ``AWS_ENDPOINT_URL`` set to the embedded AWS that ``make run``
prints).

``list-tokens`` shows every token (its id, label, events, roles, creation and expiry;
never the token, which is not stored) and ``revoke-token <id>`` takes one back: the
API refuses it from the next minute on (the authorizer's answers are kept 60 s).

``invite-organizer --event demo --email … --role send`` lets an address sign in to the
organisers' console and emails it a one-time sign-in link (printed too).

``redrive <queue>-dlq`` moves what a dead-letter queue holds back to ``<queue>``, once
the cause is fixed (Zoom credentials, an unverified sender …); ``--dry-run`` only
counts and shows what is there (ids and reasons, never bodies: they name people).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from chalicelib import auth
from chalicelib.bootstrap import services


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
    mint.add_argument(
        "--days",
        type=int,
        default=90,
        help=f"expire after this many days (1 to {auth.MOST_DAYS}; 90 unless said)",
    )
    commands.add_parser("list-tokens", help="show every organizer token (never the token)")
    revoke = commands.add_parser("revoke-token", help="take an organizer token back")
    revoke.add_argument("token_id", help="its id, the 12 hex digits list-tokens shows")
    redrive = commands.add_parser("redrive", help="move a dead-letter queue's messages back")
    redrive.add_argument("queue", help="the dead-letter queue's name, e.g. majlis-zoom-dlq")
    redrive.add_argument("--max", type=int, default=10_000, help="move at most this many")
    redrive.add_argument("--dry-run", action="store_true", help="count, move nothing")
    invite = commands.add_parser(
        "invite-organizer", help="let an address sign in to the console (emails them a link)"
    )
    invite.add_argument("--event", required=True, help="the event id, or '*' for every event")
    invite.add_argument("--email", required=True, help="the organiser's address")
    invite.add_argument("--role", required=True, choices=auth.ROLES, help="read, send or admin")
    invite.add_argument("--language", default=None, help="their console's language (ar, en, …)")
    args = parser.parse_args(argv)
    if args.command == "invite-organizer":
        return invite_organizer(args.event, args.email, args.role, args.language)
    if args.command == "list-tokens":
        return list_tokens()
    if args.command == "revoke-token":
        try:
            gone = auth.revoke(services().tokens, args.token_id)
        except ValueError as error:
            print(f"revoke-token: {error}", file=sys.stderr)
            return 2
        print(f"revoked {gone.token_id} ({gone.label}); refused from the next minute on")
        return 0
    if args.command == "redrive":
        if not args.queue.endswith("-dlq"):
            parser.error("only dead-letter queues (named <queue>-dlq) are redriven")
        moved = redrive_queue(args.queue, args.queue.removesuffix("-dlq"), args.max, args.dry_run)
        print(f"{'found' if args.dry_run else 'moved'} {moved} message(s)")
        return 0

    if not 1 <= args.days <= auth.MOST_DAYS:
        parser.error(f"--days must be from 1 to {auth.MOST_DAYS}: every token expires")
    wired = services()
    try:
        token = auth.mint(
            wired.tokens,
            events=args.event,
            roles=args.role,
            label=args.label,
            now=wired.clock(),
            valid_for=timedelta(days=args.days),
        )
    except ValueError as error:
        parser.error(str(error))
    print(token)
    return 0


def list_tokens() -> int:
    wired = services()
    now = wired.clock()
    tokens = auth.listed(wired.tokens)
    print(f"{'id':<12}  {'created':<20}  {'expires':<20}  {'events':<16}  {'roles':<16}  label")
    for token in tokens:
        expires = token.expires_at or "never"
        if token.expired(now):
            expires += " (expired)"
        print(
            f"{token.token_id:<12}  {token.created_at:<20}  {expires:<20}  "
            f"{','.join(token.events):<16}  {','.join(token.roles):<16}  {token.label}"
        )
    print(f"{len(tokens)} token(s)")
    return 0


def invite_organizer(event_id: str, email: str, role: str, language: str | None) -> int:
    """Grant the role and email the organiser a sign-in link (printed too, for the
    first admin of a new stage, whose mail may not be set up yet)."""
    from chalicelib.domain.errors import Refused
    from chalicelib.usecases import console

    wired = services()
    try:
        _, link = console.invite(wired, event_id, email, role, "cli", language)
    except Refused as refused:
        detail = "; ".join(e.message for e in getattr(refused, "errors", [])) or refused.detail
        print(f"invite-organizer: {detail}", file=sys.stderr)
        return 2
    base = wired.settings.public_base_url.rstrip("/")
    print(f"invited with role {role} on {event_id}; a sign-in link is on its way by email:")
    print(f"{base}/console/signin/{console.sign_in_token(wired, link)}  (once, 15 minutes)")
    return 0


def redrive_queue(source: str, target: str, most: int, dry_run: bool) -> int:
    """Move up to ``most`` messages from ``source`` to ``target``; returns how many
    (``adapters/sqs.py``: each sent before it is deleted). A dry run only shows them."""
    from chalicelib.adapters.aws import client
    from chalicelib.adapters.sqs import move_messages

    sqs = client("sqs")
    source_url = sqs.get_queue_url(QueueName=source)["QueueUrl"]
    target_url = sqs.get_queue_url(QueueName=target)["QueueUrl"]

    def show(message: dict) -> None:
        print(f"{message['MessageId']}: {_reason(message['Body'])}")

    return move_messages(source_url, target_url, most, look=dry_run, each=show if dry_run else None)


def _reason(body: str) -> str:
    import json

    try:
        document = json.loads(body)
    except ValueError:
        return "(not JSON)"
    if not isinstance(document, dict):
        return "(not a job)"
    return str(document.get("reason") or document.get("type") or "(no reason given)")[:200]


if __name__ == "__main__":
    sys.exit(main())
