"""``make run``: Majlis on this machine, on embedded AWS, until Ctrl-C.

What stops it from starting (a port in use, a damaged state file) is said in one line
on stderr, with the way out, and it exits with 1; never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from infra import PROJECT_DIR
from infra.local.embedded import freeze_survivors
from infra.local.runner import LOCAL_ADMIN, LocalMajlis, LocalModeError


def _port(variable: str, default: int) -> int:
    text = os.environ.get(variable, "").strip() or str(default)
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise LocalModeError(f"{variable}={text} is not a port: use a number up to 65535")
    return int(text)


def main() -> int:
    freeze_survivors()
    try:
        local = LocalMajlis(
            root=Path(os.environ.get("MAJLIS_LOCAL_DIR", PROJECT_DIR / ".local")),
            port=_port("PORT", 8000),
            aws_port=_port("MAJLIS_AWS_PORT", 0),
        )
        local.start()
    except LocalModeError as error:
        print(f"make run: {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while starting: what had started is stopped
        print("Stopped before Majlis was running.", file=sys.stderr, flush=True)
        return 130
    state = local.root / "state"
    demo = "kept from the last run" if local.demo_kept else "seeded now"
    moved = ""
    if local.restored and local.previous_url and local.previous_url != local.url:
        moved = (
            f"\n  note: the last run answered at {local.previous_url}; links in emails sent"
            f"\n        then point there (start it on that port again to follow them)\n"
        )
    print(
        f"""
Majlis is running locally.

  API              {local.url}   (also in {local.root / "address"})
  demo event       {local.url}/events/demo   ({demo})
  embedded AWS     {local.aws_endpoint}
  Zoom stand-in    {local.zoom_url}   (webhook secret token: {local.webhook_secret})
  outbox (emails)  {local.url}/_outbox/  ({local.outbox})
  organizer token  {local.organizer_token}
                   (also in {local.root / "organizer-token"})
  console          {local.console_link}
                   (sign in once within 15 minutes, as {LOCAL_ADMIN}; later,
                   ask for a new link at {local.url}/console: it lands in the outbox)
{moved}
Try:
  curl -s {local.url}/events/demo
  curl -s -H "Authorization: Bearer $(cat {local.root / "organizer-token"})" \\
       {local.url}/events/demo/registrations

Ctrl-C stops everything; the table, the link-signing keys and the Zoom stand-in's
registrants are kept in {state} for the next start.
""",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    # A second Ctrl-C must not interrupt the saving of the state.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("Stopping… (saving the state)", flush=True)
    local.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
