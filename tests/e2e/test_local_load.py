"""Local mode holds a burst: the day's load, small and bounded, over real HTTP.

500 people register for the demo event from 50 clients at once (each client on its
own keep-alive connection from its own loopback address, as people on many networks
would be), every one gets a confirmation, and 1,000 join links from those emails are
clicked from 50 clients at once: not one error status, and the event pump reports no
failure. ``make bench`` measures the same at the day's size (bench/http_load.py).
"""

from __future__ import annotations

import email
import json
import time
from collections import Counter
from email import policy

from bench.load import Request, drive, join_tokens
from infra.local.demo import EVENT_ID
from tests.builders import LANGUAGES, person

PEOPLE = 500
CLICKS = 1000
CLIENTS = 50
# Confirmations, at local mode's send rate and on this 2-core machine: well within.
CONFIRMATIONS_SECONDS = 300


def _confirmations(local, addresses: set[str]) -> dict[str, int]:
    """How many emails each of ``addresses`` has in the outbox so far."""
    received: Counter[str] = Counter()
    for path in local.outbox.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        address = message["To"].addresses[0].addr_spec
        if address in addresses:
            received[address] += 1
    return dict(received)


def test_a_burst_of_registrations_then_clicks_answers_no_error(local):
    registrations = [
        Request(
            "POST",
            f"/events/{EVENT_ID}/registrations",
            json.dumps(
                person(n, email=f"burst{n}@example.org", language=LANGUAGES[n % len(LANGUAGES)])
            ).encode(),
            {"Content-Type": "application/json"},
        )
        for n in range(PEOPLE)
    ]
    registered = drive(local.port, registrations, CLIENTS, keep=True)
    assert registered.statuses == {201: PEOPLE}, registered.statuses
    assert not registered.connection_errors
    assert len({json.loads(body)["registration_id"] for body in registered.answers}) == PEOPLE

    addresses = {f"burst{n}@example.org" for n in range(PEOPLE)}
    deadline = time.monotonic() + CONFIRMATIONS_SECONDS
    while len(received := _confirmations(local, addresses)) < PEOPLE:
        assert time.monotonic() < deadline, f"{len(received)} of {PEOPLE} confirmations sent"
        time.sleep(2)
    assert set(received.values()) == {1}  # each person one confirmation, none twice

    ours = [path for path in sorted(local.outbox.glob("*.eml")) if "burst" in path.read_text()]
    tokens = list(join_tokens(ours))
    assert len(tokens) >= CLICKS
    clicks = drive(local.port, [Request("GET", f"/join/{t}") for t in tokens[:CLICKS]], CLIENTS)
    assert clicks.statuses == {302: CLICKS}, clicks.statuses
    assert not clicks.connection_errors
    assert local.errors == []
