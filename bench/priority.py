"""mail_priority: how long a new registrant's confirmation takes while a large
announcement is sending, against the same confirmation with nothing else sending.

In real time, on in-memory stores: SES is the stand-in that throttles above its rate, the
pacer the in-memory twin of the DynamoDB one, and the workers threads as Lambda runs
them — announcement workers taking the announcement's jobs from their queue (a job
asked to come back later is put back after its delay), the mail worker sending each
newcomer's confirmation as it is owed. tests/unit/test_mail_priority.py runs it small.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any

from bench.common import _registrations, _spread
from tests.fakes import FakeSendPacer, RateLimitedSes


class Recorded(RateLimitedSes):
    """The strict SES stand-in, noting when each registration's email of each kind left
    (monotonic), and every send's wall-clock time."""

    def __init__(self, rate: float) -> None:
        super().__init__(rate, latency=0.005)
        self.left: dict[tuple[str, str], float] = {}
        self.epoch_sent_at: list[float] = []

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        message_id = super().send(raw, sender, recipient, tags)
        self.left[(tags.get("kind", ""), tags["registration"])] = time.monotonic()
        self.epoch_sent_at.append(time.time())
        return message_id


class NotedPacer(FakeSendPacer):
    """The shared send turns, noting for each transactional reservation when it was asked
    for and the turn it was given: how far behind the announcement's turns a
    confirmation is put, whatever the machine's load does to the wall-clock figure."""

    def __init__(self) -> None:
        super().__init__()
        self.transactional: list[tuple[float, float]] = []

    def reserve(self, wanted: int, rate: int, now: float, bulk: bool = False) -> list[float]:
        turns = super().reserve(wanted, rate, now, bulk=bulk)
        if not bulk and turns:
            self.transactional.append((now, turns[0]))
        return turns


def _majlis(rate: int) -> tuple[Any, Recorded]:
    from chalicelib.domain.events import Event
    from tests.builders import event_body
    from tests.fakes import fake_majlis

    majlis = fake_majlis()
    majlis.clock = lambda: datetime.now(UTC)
    ses = Recorded(rate)
    majlis.mailer = ses
    majlis.pacer = NotedPacer()
    opened = {"opens_at": "2020-01-01T00:00:00Z"}  # the clock here is the real one
    body = {**event_body(capacity=None, registration=opened), "id": "busy"}
    majlis.events.put(Event.model_validate(body), majlis.clock())
    return majlis, ses


def _announcement_worker(majlis: Any, jobs: deque[tuple[float, Any]]) -> None:
    from chalicelib.usecases.sending import IN_FLIGHT, Pace, RetryLater, send_campaign_mail

    while True:
        try:
            due, job = jobs.popleft()
        except IndexError:
            return
        if due > time.monotonic():
            jobs.append((due, job))
            time.sleep(0.01)
            continue
        try:
            send_campaign_mail(majlis, job, pace=Pace(majlis, ahead=IN_FLIGHT, bulk=True))
        except RetryLater as later:
            jobs.append((time.monotonic() + (later.seconds or 1), job))


def _newcomers(majlis: Any, count: int, spacing: float, first: int) -> dict[str, float]:
    """Register ``count`` people, one every ``spacing`` seconds, each confirmation sent by
    a mail worker invocation of its own as soon as it is owed. Returns each
    registration's time of registering."""
    from chalicelib.jobs import RegistrationMail
    from chalicelib.usecases.registrations import register
    from chalicelib.usecases.sending import send_registration_mail
    from tests.builders import person

    registered: dict[str, float] = {}
    sent: list[str] = []

    def newcomer(n: int) -> None:
        done = register(majlis, "busy", person(first + n, language="ur"), form=False)
        registered[done.registration_id] = time.monotonic()
        job = RegistrationMail(registration_id=done.registration_id, seq=1)
        sent.append(send_registration_mail(majlis, job))

    threads = []
    for n in range(count):
        thread = threading.Thread(target=newcomer, args=(n,))
        thread.start()
        threads.append(thread)
        time.sleep(spacing)
    for thread in threads:
        thread.join(timeout=60)
    assert sent == ["sent"] * count, sent
    return registered


def run(recipients: int, newcomers: int, rate: int, workers: int = 20) -> dict[str, Any]:
    """An announcement to ``recipients`` sending while ``newcomers`` register, spread over
    its first quarter; and, as the floor, the same newcomers with nothing else sending."""
    from chalicelib.jobs import CampaignMail
    from chalicelib.usecases import campaigns

    alone, alone_ses = _majlis(rate)
    quiet = _newcomers(alone, newcomers, 0.05, 90_000)
    floor = [alone_ses.left[("registered", rid)] - at for rid, at in quiet.items()]

    majlis, ses = _majlis(rate)
    for registration in _registrations("busy", recipients):
        majlis.registrations.registrations[registration.registration_id] = registration
    _, answer = campaigns.create(
        majlis, "busy", {"name": "Day 2", "content": {"ar": {"subject": "s", "text": "t"}}}
    )
    assert campaigns.fan_out(majlis, answer["campaign_id"], lambda: 900).outcome == "queued"
    on_mail_queue = len(majlis.mail_queue.jobs)
    jobs: deque[tuple[float, Any]] = deque(
        (0.0, CampaignMail.model_validate(job)) for job in majlis.announcement_queue.jobs
    )
    threads = [
        threading.Thread(target=_announcement_worker, args=(majlis, jobs)) for _ in range(workers)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    spacing = recipients / rate / 4 / newcomers  # over the campaign's first quarter
    registered = _newcomers(majlis, newcomers, spacing, 50_000)
    for thread in threads:
        thread.join(timeout=3600)
    announced = [at for (kind, _), at in ses.left.items() if kind == "announcement"]
    waits = [ses.left[("registered", rid)] - at for rid, at in registered.items()]
    per_second = Counter(int(at) for at in ses.epoch_sent_at)
    turns = majlis.pacer.used  # the pacer's turns handed out, by epoch second
    figure, low = _spread(waits), _spread(floor)
    turn_waits = [turn - asked for asked, turn in majlis.pacer.transactional]
    return {
        "recipients": recipients,
        "newcomers": newcomers,
        "rate": rate,
        "workers": workers,
        "figure": figure,
        "floor": low,
        "ratio": figure["median"] / low["median"],
        "p99": sorted(waits)[max(0, round(0.99 * len(waits)) - 1)],
        "announced": len(announced),
        "campaign_seconds": max(announced) - min(announced) if announced else 0.0,
        "registered_before_the_end": sum(1 for at in registered.values() if at < max(announced)),
        "confirmed_before_the_end": sum(
            1 for rid in registered if ses.left[("registered", rid)] < max(announced)
        ),
        "throttled": ses.throttled + alone_ses.throttled,
        "max_per_second": max(per_second.values()),
        "max_turns_per_second": max(turns.values()),
        "on_mail_queue": on_mail_queue,
        "mean_wait": statistics.fmean(waits),
        "confirmation_turns": len(turn_waits),
        "max_turn_wait": max(turn_waits),
    }


def mail_priority() -> dict[str, Any]:
    return run(recipients=10_000, newcomers=20, rate=200)
