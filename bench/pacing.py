"""send_pacing: the achieved send rate against a simulated MaxSendRate (the rate is the
floor), several workers at once, the real pacer on moto's DynamoDB and SES a stand-in
that throttles above the rate; and the pacer alone (workers that take turns and send a
ready message, nothing else).
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import _aws_in_process, _campaign, _registrations


def send_pacing(rates: tuple[int, ...] = (14, 200), seconds: float = 10.0) -> dict[str, Any]:
    """Achieved send rate against a simulated MaxSendRate, several workers at once.

    The turns come from the real pacer on moto's DynamoDB; SES is a stand-in that
    throttles above the rate (a token bucket, 40 ms a call); registrations, campaign
    and send records are in memory, so that moto's CPU cost does not slow the workers.
    """
    from concurrent.futures import ThreadPoolExecutor

    _aws_in_process()
    from moto import mock_aws

    from chalicelib.adapters.dynamo.pacer import DynamoSendPacer
    from chalicelib.domain.events import Event
    from chalicelib.jobs import CampaignMail
    from chalicelib.usecases import campaigns
    from chalicelib.usecases.sending import send_campaign_mail
    from infra.local.provision import Provisioner
    from tests.builders import event_body, zoom_base_for
    from tests.fakes import RateLimitedSes, fake_majlis

    rows = {}
    with mock_aws():
        outputs = Provisioner("us-east-1").create_all()
        for rate in rates:
            majlis = fake_majlis()
            majlis.clock = lambda: datetime.now(UTC)
            majlis.pacer = DynamoSendPacer(outputs["TableName"])
            ses = RateLimitedSes(rate, latency=0.04)
            majlis.mailer = ses
            body = {**event_body(zoom_base_for("paced"), capacity=None), "id": "paced"}
            majlis.events.put(Event.model_validate(body), majlis.clock())
            people = int(rate * seconds)
            for registration in _registrations("paced", people):
                majlis.registrations.registrations[registration.registration_id] = registration
            campaign = _campaign("paced")
            majlis.campaigns.create(campaign)
            campaigns.fan_out(majlis, campaign.campaign_id, lambda: 900)
            jobs = [CampaignMail.model_validate(job) for job in majlis.announcement_queue.jobs]
            workers = max(2, min(len(jobs), rate // 10))
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outcomes = list(pool.map(send_campaign_mail, [majlis] * len(jobs), jobs))
            elapsed = time.perf_counter() - start
            sent = sum(outcome.get("sent", 0) for outcome in outcomes)
            rows[str(rate)] = {
                "rate": rate,
                "workers": workers,
                "sent": sent,
                "seconds": elapsed,
                "achieved_per_second": sent / elapsed,
                "fraction": sent / elapsed / rate,
                "throttled": ses.throttled,
                "turns_only": _turns_only(outputs["TableName"], rate, seconds, workers),
            }
    return rows


def _turns_only(table: str, rate: int, seconds: float, workers: int) -> dict[str, Any]:
    """The pacer alone: workers that take turns and send a ready message, nothing else.

    On this machine (2 cores) building an announcement costs a few milliseconds of CPU,
    so one process cannot render 200 a second for many workers; this isolates what the
    shared turns allow.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from chalicelib.adapters.dynamo.pacer import DynamoSendPacer
    from chalicelib.ports import Throttled
    from chalicelib.usecases.sending import IN_FLIGHT, Pace
    from tests.fakes import RateLimitedSes

    ses = RateLimitedSes(rate, latency=0.04)
    shared = SimpleNamespace(pacer=DynamoSendPacer(table), mailer=ses)
    total = int(rate * seconds)
    per_worker = -(-total // workers)
    sent = [0] * workers

    def worker(index: int) -> None:
        # As a mail worker does: take turns in order, send from a pool of IN_FLIGHT.
        pace = Pace(shared, ahead=IN_FLIGHT)
        in_flight = threading.BoundedSemaphore(IN_FLIGHT)

        def send(turn: float) -> None:
            pace.wait_until(turn)
            with contextlib.suppress(Throttled):  # the stand-in counts it
                ses.send(b"", "a@example.org", "b@example.org", {})
                sent[index] += 1
            in_flight.release()

        with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
            for left in range(per_worker, 0, -1):
                in_flight.acquire()
                pool.submit(send, pace.next_turn(left))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return {
        "sent": sum(sent),
        "seconds": elapsed,
        "fraction": sum(sent) / elapsed / rate,
        "throttled": ses.throttled,
    }
