"""Double opt-in through local mode: a registration waits, pending, for its person to
follow the link emailed to them (in their language), holds no seat and no Zoom
registrant until then, and is forgotten when it expires; every address is answered
alike."""

from __future__ import annotations

import email
import re
import time
from concurrent.futures import ThreadPoolExecutor
from email import policy
from typing import Any

import boto3
import requests

from chalicelib.adapters.dynamo import schema
from chalicelib.domain.registrations import Status
from tests.builders import event_body, person, zoom_base_for

EVENT = "doi-e2e"
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


def _put_event(local, event_id: str = EVENT, **overrides: Any) -> None:
    body = event_body(
        zoom_base_for(event_id),
        registration={"opens_at": "2020-01-01T00:00:00Z"},
        double_opt_in=True,
        **overrides,
    )
    response = requests.put(
        f"{local.url}/events/{event_id}",
        json=body,
        headers={"Authorization": f"Bearer {local.organizer_token}"},
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text


def _messages_to(local, address: str, count: int, timeout: float = 20.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for path in sorted(local.outbox.glob("*.eml")) if local.outbox.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address.lower() in str(message["To"]).lower():
                found.append(message)
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, f"{len(found)} emails to {address}: {local.errors[-3:]}"
            return found
        time.sleep(0.2)


def _confirm_link(message: Any) -> str:
    text = message.get_body(("plain",)).get_content()
    [link] = re.findall(r"http://\S+/confirm/\S+", text)
    return link


def _stored(local, address: str):
    item = (
        boto3.client("dynamodb")
        .get_item(
            TableName=local.table,
            Key=schema.to_attributes(schema.email_key(EVENT, address.lower())),
            ConsistentRead=True,
        )
        .get("Item")
    )
    if item is None:
        return None
    return local.majlis.registrations.get(item["registration_id"]["S"], consistent=True)


def _post(local, body: dict[str, Any], event_id: str = EVENT) -> requests.Response:
    return requests.post(f"{local.url}/events/{event_id}/registrations", json=body, timeout=30)


def _wait(check, timeout: float, what: str, local) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {local.errors[-3:]}"
        time.sleep(0.25)
    return found


def test_pending_then_confirmed_in_arabic_and_urdu(local):
    _put_event(local)
    for n, language in ((1, "ar"), (2, "ur")):
        address = f"doi-{language}@example.org"
        answer = _post(local, person(n, email=address, language=language))
        assert (answer.status_code, answer.json()) == (202, {"status": "pending"})
        [confirm_email] = _messages_to(local, address, 1)
        assert confirm_email.get_content_type() == "multipart/alternative"
        html = confirm_email.get_body(("html",)).get_content()
        assert 'dir="rtl"' in html and f'lang="{language}"' in html
        assert "/join/" not in html and "invite.ics" not in str(confirm_email)
        link = _confirm_link(confirm_email)
        pending = _stored(local, address)
        assert pending.status is Status.PENDING
        assert pending.zoom_sync == {}  # no Zoom registrant while pending
        page = requests.get(link, timeout=30)  # a mail scanner, or the person
        assert page.status_code == 200 and 'dir="rtl"' in page.text
        assert _stored(local, address).status is Status.PENDING  # the GET changed nothing
        done = requests.post(link, headers=SAME_SITE, timeout=30)
        assert done.status_code == 200
        assert _stored(local, address).status is Status.REGISTERED
        _, confirmation = _messages_to(local, address, 2)
        text = confirmation.get_body(("plain",)).get_content()
        assert "/join/" in text and "invite.ics" in str(confirmation)

        def synced(address: str = address) -> bool:
            sync = _stored(local, address).zoom_sync
            return bool(sync) and all(s.get("state") == "synced" for s in sync.values())

        _wait(synced, 30, f"Zoom registrants of {language}", local)


def test_capacity_counts_only_the_confirmed_even_when_they_confirm_at_once(local):
    _put_event(local, "doi-seats", capacity=3)
    addresses = [f"seat{n}@example.org" for n in range(10)]
    for n, address in enumerate(addresses):
        assert _post(local, person(n, email=address), "doi-seats").status_code == 202
    links = [_confirm_link(_messages_to(local, a, 1)[0]) for a in addresses[:5]]
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda u: requests.post(u, headers=SAME_SITE, timeout=60), links))
    assert [a.status_code for a in answers] == [200] * 5
    seats = boto3.client("dynamodb").get_item(
        TableName=local.table,
        Key=schema.to_attributes(schema.seats_key("doi-seats")),
        ConsistentRead=True,
    )["Item"]
    assert (seats["registered"]["N"], seats["waitlisted"]["N"]) == ("3", "2")
    expected = {"registered": 3, "waitlisted": 2, "cancelled": 0, "pending": 5}

    def counted() -> bool:
        got = requests.get(
            f"{local.url}/events/doi-seats/stats",
            headers={"Authorization": f"Bearer {local.organizer_token}"},
            timeout=30,
        )
        return got.status_code == 200 and got.json()["registrations"] == expected

    _wait(counted, 15, "the stats", local)


def test_every_address_is_answered_alike(local):
    _put_event(local, "doi-alike", blocked=["spam.example"])
    first = _post(local, person(1, email="known@example.org"), "doi-alike")
    link = _confirm_link(_messages_to(local, "known@example.org", 1)[0])
    requests.post(link, headers=SAME_SITE, timeout=30)  # registered now
    _post(local, person(2, email="waiting@example.org"), "doi-alike")  # pending
    answers = {
        "new": _post(local, person(3, email="new@example.org"), "doi-alike"),
        "pending": _post(local, person(2, email="waiting@example.org"), "doi-alike"),
        "registered": _post(local, person(1, email="known@example.org"), "doi-alike"),
        "blocked": _post(local, person(4, email="x@spam.example"), "doi-alike"),
    }
    shapes = {
        (
            r.status_code,
            r.headers["Content-Type"],
            r.headers.get("Retry-After"),
            "Location" in r.headers,
            r.text,
        )
        for r in [first, *answers.values()]
    }
    assert shapes == {(202, "application/json", None, False, '{"status": "pending"}')}


def test_an_unconfirmed_registration_is_forgotten_when_it_expires(local):
    _put_event(local, "doi-expiry", opt_in_hours=1)
    address = "late@example.org"
    assert _post(local, person(1, email=address), "doi-expiry").status_code == 202
    link = _confirm_link(_messages_to(local, address, 1)[0])
    key = schema.to_attributes(schema.email_key("doi-expiry", address))
    db = boto3.client("dynamodb")
    registration_id = db.get_item(TableName=local.table, Key=key)["Item"]["registration_id"]["S"]
    # An hour later: its expiry, moved into the past as time would.
    past = int(time.time()) - 60
    db.update_item(
        TableName=local.table,
        Key=schema.to_attributes(schema.registration_key(registration_id)),
        UpdateExpression="SET gsi3sk = :sk",
        ExpressionAttributeValues={":sk": {"S": f"{past:012d}#{registration_id}"}},
    )
    local.pump.fire("send_reminders")
    assert "Item" not in db.get_item(
        TableName=local.table, Key=schema.to_attributes(schema.registration_key(registration_id))
    )
    assert "Item" not in db.get_item(TableName=local.table, Key=key)
    assert requests.get(link, timeout=30).status_code == 410
