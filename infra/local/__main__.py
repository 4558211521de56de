"""``make run``: Majlis on this machine, on embedded AWS, until Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from infra import PROJECT_DIR
from infra.local.runner import LocalMajlis


def main() -> int:
    local = LocalMajlis(
        root=Path(os.environ.get("MAJLIS_LOCAL_DIR", PROJECT_DIR / ".local")),
        port=int(os.environ.get("PORT", "8000")),
        aws_port=int(os.environ.get("MAJLIS_AWS_PORT", "0")),
    )
    local.start()
    print(
        f"""
Majlis is running locally.

  API              {local.url}
  demo event       {local.url}/events/demo
  embedded AWS     {local.aws_endpoint}
  Zoom stand-in    {local.zoom_url}   (webhook secret token: {local.webhook_secret})
  outbox (emails)  {local.url}/_outbox/  ({local.outbox})
  organizer token  {local.organizer_token}
                   (also in {local.root / "organizer-token"})

Try:
  curl -s {local.url}/events/demo
  curl -s -H "Authorization: Bearer $(cat {local.root / "organizer-token"})" \\
       {local.url}/events/demo/registrations

Ctrl-C stops everything; the table is kept in {local.root / "state"}.
""",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    print("Stopping…", flush=True)
    local.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
