"""500 registrations waiting for Zoom while Zoom answers 429 and 5xx part of the time.

The zoom worker as Lambda runs it (``app.zoom_worker``, batches of up to 120 messages
from the real zoom queue on moto, partial batch failures, retries through the message's
visibility) against the Zoom stand-in on loopback with the Pro plan's per-second limits
and faults: 20% of calls answered 5xx *after* Zoom did the work (so a retry meets a
registrant that already exists) and 20% extra per-second 429s.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import boto3
import pytest

import app
from chalicelib import bootstrap
from chalicelib.adapters.sqs import SqsJobQueue
from chalicelib.adapters.zoom_api import ZoomApi
from chalicelib.jobs import ZoomSync
from chalicelib.ports import ZoomCredentials
from chalicelib.usecases import zoomsync
from chalicelib.usecases.registrations import register
from infra.local.lambdas import QueueSource
from infra.local.runner import PRO_PLAN
from infra.local.zoom import ZoomStandIn
from tests.builders import SESSION_TITLES, person

PEOPLE = 500
SESSIONS = list(SESSION_TITLES)
ZOOM_IDS = {s: f"8123456789{i}" for i, s in enumerate(SESSIONS)}  # event_body's defaults


@pytest.fixture
def standin() -> Any:
    with ZoomStandIn(rate_limits=PRO_PLAN) as zoom:
        yield zoom


@pytest.fixture
def worker(aws: Any, standin: ZoomStandIn) -> Any:
    """Majlis on moto with the real zoom queues and the real Zoom client."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    credentials = ZoomCredentials(standin.account_id, standin.client_id, standin.client_secret)
    wired = dataclasses.replace(
        aws,
        zoom=ZoomApi(lambda: credentials, standin.api_url, standin.oauth_url),
        zoom_queue=SqsJobQueue(sqs.get_queue_url(QueueName="majlis-zoom")["QueueUrl"]),
        zoom_dead_letters=SqsJobQueue(sqs.get_queue_url(QueueName="majlis-zoom-dlq")["QueueUrl"]),
    )
    bootstrap.use(wired)
    return wired


def drain(queue_url: str, limit: float) -> dict[str, int]:
    """Deliver the queue to the worker in batches of up to 120 until nothing is left."""
    (source,) = [s for s in app.app.event_sources if getattr(s, "name", "") == "zoom_worker"]
    crashed: list[BaseException] = []
    queue = QueueSource(app, source, queue_url, on_error=lambda _, error: crashed.append(error))
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if not queue.poll():
            if queue.empty():
                break
            time.sleep(0.2)  # retries waiting out their visibility
        queue.waiting.clear()  # (they come back by themselves)
    assert crashed == []  # the worker answered every batch, never raised
    return {"invocations": len(queue.batches), "redelivered": queue.failures}


def test_five_hundred_pending_registrations_reach_zoom_once_through_429s_and_5xx(
    worker, standin, clock
):
    people = {f"pending{n:04d}@example.org": SESSIONS[n % len(SESSIONS)] for n in range(PEOPLE)}
    ids = {
        email: register(
            worker, "conf", person(0, email=email, sessions=[session]), False
        ).registration_id
        for email, session in people.items()
    }
    # What the table's stream puts on the zoom queue for each new registration.
    assert worker.zoom_queue.send([ZoomSync(registration_id=rid) for rid in ids.values()]) == []
    standin.faults.set(error_rate=0.2, error_mode="after", extra_429_rate=0.2)
    started = time.monotonic()
    today = drain(worker.zoom_queue.queue_url, limit=240)
    standin.faults.reset()

    stored = worker.registrations.get_many(list(ids.values()))
    waiting = [
        rid for rid, r in stored.items() if not r.zoom.get(r.sessions[0], {}).get("registrant_id")
    ]
    for rid in waiting:  # two 5xx: their adds may have landed; no third try today
        sync_state = stored[rid].zoom_sync[stored[rid].sessions[0]]
        assert sync_state["state"] == "deferred" and sync_state["reason"], sync_state
    # The next UTC day the budget is new; reconciliation would queue them, as here.
    clock.advance(days=1)
    tomorrow = zoomsync.sync(worker, waiting)
    elapsed = time.monotonic() - started

    stored = worker.registrations.get_many(list(ids.values()))
    attempts = Counter()
    for email, session in people.items():
        registration = stored[ids[email]]
        listed = [
            r for r in standin.registrants("webinar", ZOOM_IDS[session]) if r["email"] == email
        ]
        assert len(listed) == 1, (email, listed)  # in Zoom, and once
        assert registration.zoom[session]["registrant_id"] == listed[0]["id"]
        assert registration.zoom[session]["join_url"] == listed[0]["join_url"]
        assert registration.zoom_sync[session]["state"] == "synced"
        day = (clock() - timedelta(days=1)).strftime("%Y-%m-%d")
        assert registration.zoom_tries.get(f"{session}@{day}", 0) <= 2
        # Zoom's own count of add requests, refused ones included (the stand-in's day is
        # the real one: for the deferred, "tomorrow" falls on it too). Never a 4th.
        sent = standin.add_attempts(ZOOM_IDS[session], email)
        assert sent <= (3 if ids[email] in waiting else 2), (email, sent)
        attempts[sent] += 1
    dlq = boto3.client("sqs", region_name="us-east-1").get_queue_attributes(
        QueueUrl=worker.zoom_dead_letters.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert dlq["ApproximateNumberOfMessages"] == "0"
    print(
        "\nzoom outage, 500 pending:",
        json.dumps(
            {
                **today,
                "deferred_to_next_day": len(waiting),
                "next_day": {"synced": tomorrow.synced, "calls": tomorrow.calls},
                "seconds": round(elapsed, 1),
                "batch_calls": standin.calls("batch"),
                "add_calls": standin.calls("add"),
                "zoom_attempts_per_registrant": dict(sorted(attempts.items())),
            }
        ),
    )
