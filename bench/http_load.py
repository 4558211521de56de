"""http_load: local mode over HTTP (driven by ``bench/load.py``). Registrations, then
join clicks, each beside the same load on a route that touches no AWS
(``GET /assets/page.css``), sent just before it by the same clients from the same
addresses; and what the event pump still owes when the registrations end (the backlog).
"""

from __future__ import annotations

import json
import time
from typing import Any


def http_load(
    registrations: int = 2000,
    registering: int = 50,
    clicks: int = 5000,
    clicking: int = 100,
    backlog_seconds: float = 60.0,
) -> dict[str, Any]:
    """Local mode over HTTP: registrations, then join clicks, each beside the same load
    on a route that touches no AWS (``GET /assets/page.css``), sent just before it by
    the same clients from the same addresses.

    The registrations run as ``make run`` serves them, the event pump working off what
    they set off (emails, Zoom sync, and the stand-in's webhooks back) in its own
    process; what is left when they end is watched for ``backlog_seconds`` (the
    backlog). Then that work is paused (nothing lost: the pump and the stand-in hold
    their next batch and webhook) and as many registrations again show the requests
    alone; the clicks run on that quiet server, with links signed by local mode's key as
    the emails sign them (checked against the emails already sent).
    """
    from bench.load import LocalServer, Request, drive, join_links, join_tokens
    from tests.builders import LANGUAGES, person

    css = Request("GET", "/assets/page.css")

    def people(first: int) -> list[Request]:
        return [
            Request(
                "POST",
                "/events/demo/registrations",
                json.dumps(
                    person(n, email=f"load{n}@example.org", language=LANGUAGES[n % len(LANGUAGES)])
                ).encode(),
                {"Content-Type": "application/json"},
            )
            for n in range(first, first + registrations)
        ]

    with LocalServer() as server:
        drive(server.port, [css] * registering * 4, registering)  # warm: threads, connections
        floor = drive(server.port, [css] * registrations, registering)
        before = server.counts()
        live = drive(server.port, people(0), registering, keep=True)
        during = server.counts()
        backlog = _backlog(server, live.statuses[201], backlog_seconds)
        backlog["during_registrations"] = {k: during[k] - before[k] for k in during}
        backlog["pause_seconds"] = server.pause()
        quiet = drive(server.port, people(registrations), registering)
        registered = [json.loads(body)["registration_id"] for body in live.answers]
        tokens = join_links(server, registered)
        emailed = set(join_tokens(server.emails()))
        backlog["links_in_emails"] = len(emailed)
        backlog["links_in_emails_unlike_minted"] = len(emailed - set(tokens))
        if not emailed or emailed - set(tokens):
            raise RuntimeError("no emails, or links in them unlike those minted here")
        click_floor = drive(server.port, [css] * clicks, clicking)
        joins = drive(
            server.port, [Request("GET", f"/join/{t}") for t in tokens[:clicks]], clicking
        )
        server.resume()
        backlog["dead_letters"] = {k: n for k, n in server.queues().items() if k.endswith("-dlq")}
        backlog["server_failures"] = server.failures()

    def row(figure: Any, base: Any, what: str, clients: int) -> dict[str, Any]:
        shown, under = figure.summary(), base.summary()
        return {
            "floor": {"what": "GET /assets/page.css, loaded the same way"} | under,
            "figure": {"what": what} | shown,
            "ratio": shown["p50"] / under["p50"],
            "throughput_ratio": under["per_second"] / shown["per_second"],
            "clients": clients,
        }

    return {
        "registrations": row(live, floor, "POST registration, pump running", registering),
        "registrations_pump_paused": row(
            quiet, floor, "POST registration, pump paused", registering
        ),
        "join_clicks": row(joins, click_floor, "GET /join/{token}, pump paused", clicking),
        "backlog": backlog,
    }


def _backlog(server: Any, owed: int, seconds: float, limit: float = 180.0) -> dict[str, Any]:
    """What the pump still owes when the registrations end, how fast it pays over
    ``seconds``, and when the last email owed is in the outbox (watched up to ``limit``
    seconds after the registrations ended)."""
    ended = time.monotonic()
    emails, queues = len(server.emails()), server.queues()
    time.sleep(seconds)
    later = len(server.emails())
    rate = (later - emails) / seconds
    sent, all_sent_after = later, None
    while True:
        if sent >= owed:
            all_sent_after = time.monotonic() - ended
            break
        if time.monotonic() - ended >= limit:
            break
        time.sleep(0.5)
        sent = len(server.emails())
    return {
        "all_sent_after_seconds": all_sent_after,
        "watched_seconds": limit,
        "emails_when_watch_ended": sent,
        "emails_owed": owed,
        "emails_when_registrations_ended": emails,
        "queues_when_registrations_ended": queues,
        "window_seconds": seconds,
        "emails_after_window": later,
        "queues_after_window": server.queues(),
        "emails_per_second": rate,
        "projected_seconds_to_send_all": (owed - later) / rate if rate else None,
    }
