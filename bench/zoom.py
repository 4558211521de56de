"""zoom and zoom_table: syncing registrants to a Zoom webinar.

``zoom_sync``: Zoom API calls per registrant synced and the time to fill one webinar,
the zoom worker against the Zoom stand-in on loopback, against the floor of what the
Pro plan's per-second limits allow (30 light, 10 heavy calls a second).
``zoom_table_calls``: DynamoDB calls per registrant synced, on moto in this process.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from bench.common import _aws_in_process


def _one_webinar(majlis: Any, event_id: str, zoom_id: str, people: int) -> list[str]:
    """An event whose one session is a webinar, and ``people`` registered for it."""
    from chalicelib.domain.events import Event
    from chalicelib.domain.ids import new_id
    from chalicelib.domain.registrations import Registration, RegistrationForm
    from chalicelib.usecases.events import put_event
    from tests.builders import event_body, person

    body = event_body(registration={"opens_at": "2020-01-01T00:00:00Z"}, capacity=None)
    body["sessions"] = [{**body["sessions"][0], "zoom": {"type": "webinar", "id": zoom_id}}]
    put_event(majlis, event_id, body)
    event = majlis.events.get(event_id, fresh=True)
    assert isinstance(event, Event)
    ids = []
    for n in range(people):
        fields = person(n, email=f"{event_id}{n}@example.org")
        form = RegistrationForm.model_validate(fields, context={"event": event})
        registration = Registration.new(new_id(), event, form, majlis.clock())
        majlis.registrations.add(registration, None)
        ids.append(registration.registration_id)
    return ids


def _rooms_event(majlis: Any, event_id: str, zoom_ids: tuple[str, str], people: int) -> list[str]:
    """An event whose one session has rooms (a webinar of 4,999, a meeting of 1,000 and
    the live stream), and ``people`` registered and seated in them as the stream does."""
    from chalicelib.usecases import rooms
    from chalicelib.usecases.events import put_event

    ids = _one_webinar(majlis, event_id, zoom_ids[0], people)
    event = majlis.events.get(event_id, fresh=True)
    body = event.organizer_view()
    del body["id"], body["revision"]
    session = body["sessions"][0]
    session.pop("zoom"), session.pop("join_url", None)
    session["rooms"] = [
        {"zoom": {"type": "webinar", "id": zoom_ids[0]}, "capacity": 4999},
        {"zoom": {"type": "meeting", "id": zoom_ids[1]}, "capacity": 1000},
        {"watch_url": "https://stream.example.org/live"},
    ]
    put_event(majlis, event_id, body)
    event = majlis.events.get(event_id, fresh=True)
    seating = rooms.Seating()
    start = time.perf_counter()
    for registration_id in ids:
        rooms.settle(majlis, event, registration_id, seating)
    majlis.bench_seating_seconds = time.perf_counter() - start  # type: ignore[attr-defined]
    return ids


def _zoom_worker(containers: list[Any], batches: list[list[str]]) -> dict[str, Any]:
    """The zoom worker draining its queue: one thread per container (the event source
    runs at most two), a batch of messages per call; what Zoom slows down comes back
    after its Retry-After, else the worker's backoff."""
    import heapq
    import threading

    from chalicelib.usecases import zoomsync
    from chalicelib.usecases.zoomworker import backoff

    ready = [(0.0, n, batch) for n, batch in enumerate(batches)]
    heapq.heapify(ready)
    lock = threading.Lock()
    totals = {"calls": 0, "synced": 0, "skipped": 0, "retried": 0, "dead": 0, "busy": 0}
    order = iter(range(len(batches), 10**9))
    start = time.perf_counter()

    def container(majlis: Any) -> None:
        while True:
            with lock:
                now = time.perf_counter() - start
                if not ready and not totals["busy"]:
                    return
                batch = heapq.heappop(ready)[2] if ready and ready[0][0] <= now else None
                totals["busy"] += batch is not None
            if batch is None:
                time.sleep(0.01)
                continue
            outcome = zoomsync.sync(majlis, batch)
            with lock:
                totals["busy"] -= 1
                totals["calls"] += outcome.calls
                totals["synced"] += outcome.synced
                totals["skipped"] += outcome.skipped
                totals["dead"] += len(outcome.dead)
                totals["retried"] += len(outcome.retry)
                # Messages made visible again together are received together.
                again: dict[int, list[str]] = {}
                for registration_id, after in outcome.retry.items():
                    again.setdefault(int(after) + 1 if after else backoff(1), []).append(
                        registration_id
                    )
                for delay, ids in again.items():
                    due = time.perf_counter() - start + delay
                    heapq.heappush(ready, (due, next(order), ids))

    threads = [threading.Thread(target=container, args=(m,)) for m in containers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    del totals["busy"]
    return {**totals, "seconds": time.perf_counter() - start}


def _zoom_check(majlis: Any, zoom: Any, zoom_id: str, ids: list[str]) -> dict[str, Any]:
    added = [r["email"].lower() for r in zoom.registrants("webinar", zoom_id)]
    states: dict[str, int] = {}
    for registration in majlis.registrations.get_many(ids).values():
        state = registration.zoom_sync.get(registration.sessions[0], {}).get("state", "none")
        states[state] = states.get(state, 0) + 1
    return {
        "zoom_registrants": len(added),
        "duplicates": len(added) - len(set(added)),
        "most_adds_for_one_registrant": max(zoom.add_attempts(zoom_id, e) for e in added),
        "states": states,
    }


def zoom_sync(registrants: int = 5000, trickle: int = 150) -> dict[str, Any]:
    """Zoom API calls per registrant synced, and the time to fill one webinar.

    The zoom worker's sync with its real Zoom client, two containers (each with its own
    client, token and pacing), against the Zoom stand-in on loopback with the Pro plan's
    per-second limits. Registrations are kept in memory here, so that the figure is
    Zoom's side alone (table calls are counted by ``zoom_table_calls``). The floor is
    what the limits allow: batch adds are "heavy" (10 a second, 30 registrants each),
    single adds "light" (30 a second); Zoom holds 4,999 registrants a webinar.
    """
    import dataclasses

    from chalicelib.adapters.zoom_api import ZoomApi
    from chalicelib.ports import ZoomCredentials
    from infra.local.runner import PRO_PLAN
    from infra.local.zoom import ZoomStandIn
    from tests.fakes import fake_majlis

    rows = {}
    with ZoomStandIn(rate_limits=PRO_PLAN) as zoom:
        credentials = ZoomCredentials(zoom.account_id, zoom.client_id, zoom.client_secret)
        shared = fake_majlis()
        containers = [
            dataclasses.replace(
                shared, zoom=ZoomApi(lambda: credentials, zoom.api_url, zoom.oauth_url)
            )
            for _ in range(2)
        ]
        for name, people, zoom_id, per_message in (
            ("single", trickle, "85550000001", 1),  # registrations arriving one by one
            ("batched", registrants, "85550000002", 120),  # an import: the worker's batch
        ):
            ids = _one_webinar(shared, name, zoom_id, people)
            tokens = zoom.calls("token")
            batches = [ids[i : i + per_message] for i in range(0, len(ids), per_message)]
            row = _zoom_worker(containers, batches)
            row.update(_zoom_check(shared, zoom, zoom_id, ids))
            row["tokens"] = zoom.calls("token") - tokens
            row["registrants"] = people
            row["calls_per_registrant"] = row["calls"] / people
            fitting = min(people, zoom.capacity)
            calls = fitting if per_message == 1 else -(-fitting // 30)
            row["floor_seconds"] = calls / PRO_PLAN["light" if per_message == 1 else "heavy"]
            row["ratio"] = row["seconds"] / row["floor_seconds"]
            rows[name] = row
        # Rooms: 5,000 people seated in a webinar of 4,999, a meeting of 1,000 and the
        # stream, then synced to each room's Zoom registrants.
        zoom_ids = ("85550000003", "85550000004")
        ids = _rooms_event(shared, "rooms", zoom_ids, registrants)
        seating_seconds = shared.bench_seating_seconds
        batches = [ids[i : i + 120] for i in range(0, len(ids), 120)]
        row = _zoom_worker(containers, batches)
        seated: dict[str, int] = {}
        for registration in shared.registrations.get_many(ids).values():
            room = registration.rooms.get(registration.sessions[0], "none")
            seated[room] = seated.get(room, 0) + 1
        in_zoom = {
            kind: len(zoom.registrants(kind, i))
            for kind, i in zip(("webinar", "meeting"), zoom_ids, strict=True)
        }
        row.update(
            registrants=registrants,
            seating_seconds=seating_seconds,
            seated=seated,
            zoom_registrants=in_zoom,
            calls_per_registrant=row["calls"] / registrants,
            floor_seconds=sum(-(-n // 30) for n in in_zoom.values()) / PRO_PLAN["heavy"],
        )
        row["ratio"] = row["seconds"] / row["floor_seconds"]
        rows["rooms"] = row
    return rows


def zoom_table_calls(registrants: int = 300) -> dict[str, Any]:
    """DynamoDB calls per registrant synced to Zoom, on moto in this process."""
    from collections import Counter

    _aws_in_process()
    from moto import mock_aws

    from chalicelib import bootstrap, config
    from chalicelib.adapters.aws import client
    from chalicelib.usecases import zoomsync
    from infra.local.provision import Provisioner
    from infra.local.zoom import ZoomStandIn

    rows = {}
    with mock_aws(), ZoomStandIn() as zoom:
        provisioner = Provisioner("us-east-1")
        provisioner.create_all()
        secret = {
            "account_id": zoom.account_id,
            "client_id": zoom.client_id,
            "client_secret": zoom.client_secret,
        }
        provisioner.client("secretsmanager").put_secret_value(
            SecretId=provisioner.refs["ZoomCredentials"], SecretString=json.dumps(secret)
        )
        os.environ.update(MAJLIS_ZOOM_API_URL=zoom.api_url, MAJLIS_ZOOM_OAUTH_URL=zoom.oauth_url)
        config.settings.cache_clear()
        majlis = bootstrap.on_aws(config.settings())
        calls: Counter[str] = Counter()
        client("dynamodb").meta.events.register(
            "before-call", lambda model, **_: calls.update([model.name])
        )
        for name, people, per_message in (("single", 30, 1), ("batched", registrants, 120)):
            ids = _one_webinar(majlis, name, f"8556000000{per_message % 10}", people)
            calls.clear()
            for i in range(0, len(ids), per_message):
                zoomsync.sync(majlis, ids[i : i + per_message])
            rows[name] = {
                "registrants": people,
                "per_registrant": {op: n / people for op, n in sorted(calls.items())},
                "total_per_registrant": sum(calls.values()) / people,
            }
    return rows
