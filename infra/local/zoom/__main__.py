"""The command line: ``python -m infra.local.zoom --port 9090 --webhook-url URL``
(``--custom-languages Arabic,Turkish,Urdu,Malay``: the account's custom interpretation
languages).

Serves the stand-in in the foreground until Ctrl-C, then gives pending webhooks 2 s.
"""

from __future__ import annotations

import argparse
import threading

from .standin import ZoomStandIn


def main() -> None:  # pragma: no cover - a manual entry point
    parser = argparse.ArgumentParser(description="Zoom's API and webhooks on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--webhook-url")
    parser.add_argument("--custom-languages", default="", help="e.g. Arabic,Turkish,Urdu,Malay")
    arguments = parser.parse_args()
    standin = ZoomStandIn(
        webhook_url=arguments.webhook_url,
        custom_languages={n.strip() for n in arguments.custom_languages.split(",") if n.strip()},
    )
    base = standin.start(arguments.host, arguments.port)
    print(f"Zoom stand-in at {base} (API {standin.api_url}, OAuth {standin.oauth_url})")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop(flush_webhooks=2.0)


if __name__ == "__main__":  # pragma: no cover
    main()
