"""Zoom sync end to end on local mode: HTTP -> table -> stream -> zoom queue -> stand-in.

The stand-in is Zoom over real HTTP on loopback (Pro-plan per-second limits, signed
webhooks posted back to the API). The event pump runs the zoom worker; reconciliation
is called directly where a test needs it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from chalicelib.domain.addresses import parse_address
from chalicelib.domain.registrations import Registration, RegistrationFilter
from chalicelib.signed_links import registration_links
from chalicelib.usecases import zoomsync
from tests.builders import person

EVENT = "demo"
ZOOM_IDS = {  # the demo event's webinars (infra/local/demo.py)
    "education": "81234567890",
    "family": "81234567891",
    "youth": "81234567892",
}
OUTAGE_PEOPLE = 200
OUTAGE_SESSIONS = ["education", "family"]  # each person registers for one of them
MEASURED: dict[str, Any] = {}


def wait_for(check: Callable[[], Any], timeout: float, what: str, local: Any) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; pump errors: {local.errors[-3:]}")
        time.sleep(0.25)


def all_registrations(local: Any) -> list[Registration]:
    found, cursor = [], None
    while True:
        page = local.majlis.registrations.page(EVENT, RegistrationFilter(), 500, cursor)
        found += page.items
        if page.cursor is None:
            return found
        cursor = page.cursor


def approved(local: Any, session_id: str) -> dict[str, dict]:
    listed = local.zoom.registrants("webinar", ZOOM_IDS[session_id], "approved")
    return {r["email"].lower(): r for r in listed}


def register(local: Any, body: dict[str, Any]) -> str:
    response = requests.post(f"{local.url}/events/{EVENT}/registrations", json=body, timeout=60)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "registered"
    return response.json()["registration_id"]


def stored(local: Any, registration_id: str) -> Registration:
    found = local.majlis.registrations.get(registration_id, consistent=True)
    assert found is not None
    return found


# -- the full loop -------------------------------------------------------------------


def test_register_sync_echo_join_and_cancel(local):
    email = "loop.amina@example.org"
    sessions = ["education", "family", "youth"]
    rid = register(local, person(1, email=email, sessions=sessions, first_name="أمينة"))

    # Zoom gets one registrant per session
    def in_zoom() -> dict[str, dict] | None:
        found = {s: approved(local, s).get(email) for s in sessions}
        return found if all(found.values()) else None

    there = wait_for(in_zoom, 15, "3 Zoom registrants", local)
    for session_id in sessions:
        assert there[session_id]["first_name"] == "أمينة"
        all_of_email = [
            r
            for r in local.zoom.registrants("webinar", ZOOM_IDS[session_id])
            if r["email"].lower() == email
        ]
        assert len(all_of_email) == 1

    # the echo webhooks come back, signed, and are applied without a duplicate
    def echoes() -> list[dict] | None:
        sent = [
            w
            for w in local.zoom.webhooks_sent
            if w["event"] == "webinar.registration_created"
            and w["json"]["payload"]["object"]["registrant"]["email"].lower() == email
        ]
        return sent if len(sent) >= 3 and all(w["status"] == 200 for w in sent) else None

    delivered = wait_for(echoes, 15, "the echo webhooks", local)
    assert {str(w["json"]["payload"]["object"]["id"]) for w in delivered} == {
        ZOOM_IDS[s] for s in sessions
    }

    def ids_recorded() -> Registration | None:
        current = stored(local, rid)
        return current if set(current.zoom) == set(sessions) else None

    registration = wait_for(ids_recorded, 15, "Zoom ids on the registration", local)
    time.sleep(2)  # let every echo be applied
    registration = stored(local, rid)
    for session_id in sessions:
        assert registration.zoom[session_id] == {
            "registrant_id": there[session_id]["id"],
            "join_url": there[session_id]["join_url"],
            "meeting": f"webinar:{ZOOM_IDS[session_id]}",
        }
        assert registration.zoom_sync[session_id]["state"] == "synced"
    mine = [r for r in all_registrations(local) if r.email_key == email]
    assert [r.registration_id for r in mine] == [rid]
    assert mine[0].source == "form"
    assert local.majlis.registrations.find_by_email(EVENT, parse_address(email).key) == rid
    for session_id in sessions:
        assert local.zoom.add_attempts(ZOOM_IDS[session_id], email) == 1

    # the join link leads to the personal Zoom link
    event = local.majlis.events.get(EVENT)
    links = registration_links(local.majlis.keys.keys(), local.url, event, registration)
    response = requests.get(links.join["education"], allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert response.headers["Location"] == there["education"]["join_url"]
    assert "tk=" in response.headers["Location"]
    page = requests.get(response.headers["Location"], timeout=10)
    assert page.status_code == 200 and "أمينة" in page.text

    # cancelling through the manage link cancels every Zoom registrant
    response = requests.post(links.manage, json={"action": "cancel"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {"registration_id": rid, "status": "cancelled"}

    def cancelled_in_zoom() -> bool:
        return all(email not in approved(local, s) for s in sessions)

    wait_for(cancelled_in_zoom, 15, "the Zoom registrants cancelled", local)
    for session_id in sessions:
        [gone] = [
            r
            for r in local.zoom.registrants("webinar", ZOOM_IDS[session_id])
            if r["email"].lower() == email
        ]
        assert gone["status"] == "cancelled"
    # the cancellation echoes change nothing more, and the old personal link is dead
    time.sleep(2)
    final = stored(local, rid)
    assert final.status.value == "cancelled"
    assert requests.get(links.join["education"], allow_redirects=False, timeout=10).status_code == (
        410
    )
    assert requests.get(there["education"]["join_url"], timeout=10).status_code == 403
    assert [r.registration_id for r in all_registrations(local) if r.email_key == email] == [rid]


# -- rate limits and an outage -------------------------------------------------------
#
# The whole of local mode, echo webhooks included, with 200 people: every step shares
# one process with the embedded moto server, the stream handler and the mail worker, so
# 500 take about five minutes here. The zoom worker alone with 500 pending is
# tests/integration/test_zoom_worker_outage.py.
#
# Faults: 20% 5xx and 20% extra per-second 429s on Zoom's API. A 429 costs no budget;
# after two 5xx answers (which may or may not have added them) a registrant waits for
# the next UTC day, which the test stands in for by syncing with tomorrow's clock.


def outage_email(n: int) -> str:
    return f"outage{n:04d}@example.org"


def zoom_queue_busy(local: Any) -> bool:
    sqs = boto3.client("sqs", region_name="us-east-1")
    attributes = sqs.get_queue_attributes(
        QueueUrl=local.pump.queue_urls["majlis-zoom"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return any(int(v) for v in attributes.values())


def dead_letters(local: Any) -> int:
    sqs = boto3.client("sqs", region_name="us-east-1")
    attributes = sqs.get_queue_attributes(
        QueueUrl=local.pump.queue_urls["majlis-zoom-dlq"],
        AttributeNames=["ApproximateNumberOfMessages"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def sync_report(local: Any, emails: dict[str, str]) -> dict[str, list[str]]:
    """Who of ``emails`` (email -> session) is an approved registrant in Zoom, and once."""
    active = {
        s: Counter(
            r["email"].lower()
            for r in local.zoom.registrants("webinar", ZOOM_IDS[s], "approved")
            if r["email"].startswith("outage")
        )
        for s in OUTAGE_SESSIONS
    }
    missing = [e for e, s in emails.items() if active[s][e] == 0]
    duplicates = [e for s in OUTAGE_SESSIONS for e, n in active[s].items() if n > 1]
    return {"missing": missing, "duplicates": duplicates}


def settle(local: Any, emails: dict[str, str], started: float, limit: float) -> float:
    """Wait until everyone is in Zoom, or the zoom queue has been empty for 3 s."""
    idle_since = None
    while time.monotonic() - started < limit:
        if not sync_report(local, emails)["missing"]:
            return time.monotonic() - started
        if zoom_queue_busy(local):
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 3:
            return idle_since - started
        time.sleep(0.5)
    return time.monotonic() - started


@pytest.mark.slow
def test_two_hundred_registrations_through_rate_limits_and_an_outage(local):
    zoom = local.zoom
    emails = {
        outage_email(n): OUTAGE_SESSIONS[n % len(OUTAGE_SESSIONS)] for n in range(OUTAGE_PEOPLE)
    }
    calls_before = {name: zoom.calls(name) for name in ("add", "batch", "list", "status")}
    zoom.faults.set(error_rate=0.2, extra_429_rate=0.2, latency=0.01)
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=24) as pool:
            ids = list(
                pool.map(
                    lambda item: register(local, person(0, email=item[0], sessions=[item[1]])),
                    emails.items(),
                )
            )
        registered_in = time.monotonic() - started
        pumped_in = settle(local, emails, started, 150)
        after_pump = sync_report(local, emails)
    finally:
        zoom.faults.reset()
    by_email = {r.email_key: r for r in all_registrations(local) if r.email_key in emails}
    states = Counter(r.zoom_sync.get(emails[e], {}).get("state") for e, r in by_email.items())

    # Whoever is not in Zoom yet was deferred, with a reason: the day's budget is spent
    # (each of their adds may have reached Zoom: a 5xx does not say).
    for email in after_pump["missing"]:
        sync_state = by_email[email].zoom_sync.get(emails[email], {})
        assert sync_state.get("state") == "deferred", (email, sync_state)
        assert sync_state.get("reason"), (email, sync_state)
        assert sum(by_email[email].zoom_tries.values()) == local.majlis.settings.zoom_adds_per_day

    # Zoom is back. Reconciliation today finds the deferred ones and adds nothing more.
    today = zoomsync.reconcile(local.majlis)
    settle(local, emails, time.monotonic(), 30)
    assert sync_report(local, emails)["missing"] == after_pump["missing"]
    # Tomorrow (UTC) the budget is new: their adds go out.
    tomorrow = replace(local.majlis, clock=lambda: datetime.now(UTC) + timedelta(days=1))
    deferred = [by_email[e].registration_id for e in after_pump["missing"]]
    next_day = zoomsync.sync(tomorrow, deferred)
    all_in = time.monotonic() - started
    final = sync_report(local, emails)
    time.sleep(3)  # the last echoes
    by_email = {r.email_key: r for r in all_registrations(local) if r.email_key in emails}
    attempts = {e: zoom.add_attempts(ZOOM_IDS[s], e) for e, s in emails.items()}
    MEASURED.update(
        people=OUTAGE_PEOPLE,
        registered_in_s=round(registered_in, 1),
        pump_settled_in_s=round(pumped_in, 1),
        in_zoom_same_day=OUTAGE_PEOPLE - len(after_pump["missing"]),
        states_after_pump=dict(states),
        reconcile_same_day=today,
        next_day_sync=(next_day.synced, next_day.calls),
        everyone_in_zoom_after_s=round(all_in, 1),
        add_calls=zoom.calls("add") - calls_before["add"],
        batch_calls=zoom.calls("batch") - calls_before["batch"],
        list_calls=zoom.calls("list") - calls_before["list"],
        max_attempts_per_email=max(attempts.values()),
        attempts_per_email=dict(sorted(Counter(attempts.values()).items())),
        max_tries_per_day=max(n for r in by_email.values() for n in r.zoom_tries.values()),
    )
    print("\nzoom outage:", MEASURED)

    # Everyone registered with us once; everyone is in Zoom once, with their id here.
    assert len(ids) == len(set(ids)) == OUTAGE_PEOPLE
    assert len(by_email) == OUTAGE_PEOPLE
    assert final["missing"] == []
    assert after_pump["duplicates"] == [] and final["duplicates"] == []
    for email, session_id in emails.items():
        listed = local.zoom.registrants("webinar", ZOOM_IDS[session_id])
        assert sum(1 for r in listed if r["email"].lower() == email) == 1, email
        there = approved(local, session_id)[email]
        assert by_email[email].zoom[session_id]["registrant_id"] == there["id"], email
    # Never more adds sent than our budget a day, so never near Zoom's 3.
    budget = local.majlis.settings.zoom_adds_per_day
    assert max(n for r in by_email.values() for n in r.zoom_tries.values()) <= budget
    assert max(attempts.values()) <= budget
    assert dead_letters(local) == 0
    assert not local.errors, local.errors[-3:]
