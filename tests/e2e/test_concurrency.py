"""Races over real HTTP against local mode (moto server, threads).

Two people racing for the last seat, or one person double-clicking "register" from
two tabs, must never both win.
"""

from __future__ import annotations

import http.client
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import boto3
import requests

from chalicelib.adapters.dynamo.schema import (
    address_hash,
    from_attributes,
    seats_key,
    to_attributes,
)
from tests.builders import event_body, person, zoom_base_for


def _put_event(local, event_id: str, **overrides) -> None:
    body = event_body(
        zoom_base_for(event_id), registration={"opens_at": "2020-01-01T00:00:00Z"}, **overrides
    )
    response = requests.put(
        f"{local.url}/events/{event_id}",
        json=body,
        headers={"Authorization": f"Bearer {local.organizer_token}"},
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text


def _registrations(local, event_id: str) -> list[dict]:
    items = []
    paginator = boto3.client("dynamodb").get_paginator("query")
    for page in paginator.paginate(
        TableName=local.table,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :e",
        ExpressionAttributeValues={":e": {"S": f"EVENT#{event_id}#REG"}},
    ):
        items.extend(from_attributes(i) for i in page["Items"])
    return items


def _seats(local, event_id: str) -> dict:
    item = boto3.client("dynamodb").get_item(
        TableName=local.table, Key=to_attributes(seats_key(event_id)), ConsistentRead=True
    )["Item"]
    return from_attributes(item)


def _emails_to(local, address: str) -> int:
    return sum(1 for path in local.outbox.glob("*.eml") if address in path.read_text().lower())


def _post_all(url: str, bodies: list[dict]) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(lambda body: requests.post(url, json=body, timeout=60), bodies))


def test_fifty_simultaneous_registrations_of_one_email(local):
    _put_event(local, "race-email")
    address = "racer@example.org"
    # The same address, in 50 different spellings of its case.
    spellings = [
        "".join(c.upper() if (i >> k) & 1 else c for k, c in enumerate(address)) for i in range(50)
    ]
    responses = _post_all(
        f"{local.url}/events/race-email/registrations",
        [person(i, email=spelling) for i, spelling in enumerate(spellings)],
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 200: 49}
    assert len({r.json()["registration_id"] for r in responses}) == 1
    assert len(_registrations(local, "race-email")) == 1
    assert _seats(local, "race-email")["registered"] == 1
    # Exactly one confirmation, even after the pump has had time for more.
    deadline = time.monotonic() + 15
    while _emails_to(local, address) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)
    assert _emails_to(local, address) == 1


def test_sixty_people_racing_for_twenty_seats(local):
    _put_event(local, "race-seats", capacity=20)
    responses = _post_all(
        f"{local.url}/events/race-seats/registrations",
        [person(i, email=f"seat{i}@example.org") for i in range(60)],
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses[:3]]
    answered = Counter(r.json()["status"] for r in responses)
    assert answered == {"registered": 20, "waitlisted": 40}
    stored = Counter(r["status"] for r in _registrations(local, "race-seats"))
    assert stored == answered
    seats = _seats(local, "race-seats")
    assert (seats["registered"], seats["waitlisted"]) == (20, 40)


def _post_from(local, address: str, n: int) -> int:
    """A registration from a client at ``address`` (any 127.x.y.z reaches loopback)."""
    url = urlsplit(local.url)
    connection = http.client.HTTPConnection(
        url.hostname, url.port, timeout=30, source_address=(address, 0)
    )
    try:
        connection.request(
            "POST",
            "/events/limits-e2e/registrations",
            body=json.dumps(person(n)),
            headers={"Content-Type": "application/json"},
        )
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_flood_from_fifty_addresses_meets_the_event_s_ceiling_and_seats_stay_exact(local):
    _put_event(local, "flood", capacity=30, registrations_per_minute=60)
    url = urlsplit(local.url)

    def post(n: int) -> tuple[int, str | None]:
        connection = http.client.HTTPConnection(
            url.hostname, url.port, timeout=60, source_address=(f"127.0.1.{n % 50 + 1}", 0)
        )
        try:
            connection.request(
                "POST",
                "/events/flood/registrations",
                body=json.dumps(person(n, email=f"flood{n}@example.org")),
                headers={"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            response.read()
            return response.status, response.getheader("Retry-After")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(post, range(200)))  # 4 from each address: under its limit
    statuses = Counter(status for status, _ in answers)
    assert set(statuses) == {201, 429}, statuses
    # 60 a minute; a flood that spans the turn of a minute may get two minutes' worth.
    assert 60 <= statuses[201] <= 120
    assert all(retry and int(retry) >= 1 for status, retry in answers if status == 429)
    stored = Counter(r["status"] for r in _registrations(local, "flood"))
    assert sum(stored.values()) == statuses[201]
    assert stored["registered"] == 30
    seats = _seats(local, "flood")
    assert (seats["registered"], seats["waitlisted"]) == (30, statuses[201] - 30)


def test_each_client_address_is_counted_on_its_own(local):
    _put_event(local, "limits-e2e")
    statuses = [_post_from(local, "127.0.0.2", n) for n in (1, 2)]
    statuses.append(_post_from(local, "127.0.0.3", 3))
    assert statuses == [201, 201, 201]
    counters = boto3.client("dynamodb").scan(TableName="majlis-limits")["Items"]
    hits: Counter[str] = Counter()  # by address, over windows (a minute may turn meanwhile)
    for item in counters:
        hits[item["pk"]["S"].rsplit("#", 1)[1]] += int(item["hits"]["N"])
    assert hits[address_hash("127.0.0.2")] == 2
    assert hits[address_hash("127.0.0.3")] == 1
