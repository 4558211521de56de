"""Confirmations first: while a 2,000-recipient announcement is sending, each of 20 new
registrants' confirmations leaves within seconds, and together they never exceed the
account's send rate.

``bench/priority.py`` runs it (``make bench`` at 10,000 recipients): in real time, on
in-memory stores, SES the stand-in that throttles above its rate, the workers threads
as Lambda runs them — 20 announcement workers on their queue, the mail worker sending
each confirmation as it is owed.
"""

from __future__ import annotations

from bench.priority import run
from chalicelib.ports import BULK_LOOK_AHEAD

RATE = 100  # 20 s of sending: the newcomers register in its first quarter


def test_confirmations_leave_within_seconds_while_an_announcement_is_sending() -> None:
    measured = run(recipients=2000, newcomers=20, rate=RATE)
    # The announcement went its own way: nothing of it on the mail queue, all of it sent
    assert measured["on_mail_queue"] == 0
    assert measured["announced"] == 2000
    # Each confirmation was given a send turn at most the announcement's look-ahead (one
    # second) after it asked, however many of the campaign's jobs were waiting: the
    # shared turns put it ahead of them. (How many seconds that is on the wall clock
    # depends on the machine's load too: make bench reports it.)
    assert measured["confirmation_turns"] == 20
    assert measured["max_turn_wait"] <= BULK_LOOK_AHEAD + 2 / RATE, measured["max_turn_wait"]
    # And it left before the end
    assert measured["registered_before_the_end"] == 20
    assert measured["confirmed_before_the_end"] == 20
    # Together they kept to the rate: no second was given more turns than the rate, and
    # SES (its limiter a bucket of RATE tokens a second) never throttled
    assert measured["max_turns_per_second"] <= RATE
    assert measured["throttled"] == 0
    # And the announcement used the rate the confirmations left it
    assert 2000 / measured["campaign_seconds"] > 0.8 * RATE
