"""The waiting list end to end, on local mode: a cancelled seat goes to the next person.

Everything goes over real HTTP as people would use it: registrations from the form's
API, the cancellation through the manage link found in the confirmation email, and
the promotion done by the table's stream handler that the local pump runs, which
sends the promoted person their confirmation ("A place is available").
"""

from __future__ import annotations

import email
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from email import policy
from email.message import EmailMessage
from typing import Any

import boto3
import requests

from chalicelib.adapters.dynamo.schema import from_attributes, seats_key, to_attributes
from tests.builders import event_body, person, zoom_base_for

PROMOTED = "A place is available"
WAITLISTED = "You are on the waiting list"
CONFIRMED = "Your registration is confirmed"
CANCELLED = "Your registration is cancelled"


# -- helpers ---------------------------------------------------------------------------


def _organizer(local) -> dict[str, str]:
    return {"Authorization": f"Bearer {local.organizer_token}"}


def _put_event(local, event_id: str, **overrides: Any) -> None:
    """An event open for registration now (the local server runs on the real clock)."""
    body = event_body(zoom_base_for(event_id), registration={"opens_at": "2020-01-01T00:00:00Z"})
    body.update(overrides)
    response = requests.put(
        f"{local.url}/events/{event_id}", json=body, headers=_organizer(local), timeout=30
    )
    assert response.status_code in (200, 201), response.text


def _register(local, event_id: str, n: int, address: str) -> dict[str, str]:
    response = requests.post(
        f"{local.url}/events/{event_id}/registrations",
        json=person(n, email=address, language="en", timezone="Europe/London"),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _emails_to(local, address: str) -> list[EmailMessage]:
    found = []
    for path in sorted(local.outbox.glob("*.eml")) if local.outbox.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if address.lower() in str(message["To"]).lower():
            found.append(message)
    return found


def _subjects(local, address: str) -> list[str]:
    return [str(m["Subject"]) for m in _emails_to(local, address)]


def _wait_for(what: str, check: Any, local, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"waited in vain for {what}; errors: {local.errors}")


def _email_with(local, address: str, subject: str) -> EmailMessage:
    def find() -> EmailMessage | None:
        matching = [m for m in _emails_to(local, address) if subject in str(m["Subject"])]
        return matching[0] if matching else None

    return _wait_for(f"{subject!r} to {address}", find, local)


def _manage_token(local, message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    (token,) = re.findall(rf"{re.escape(local.url)}/manage/(\S+)", part.get_content())
    return token


def _cancel(local, token: str) -> requests.Response:
    return requests.post(f"{local.url}/manage/{token}", json={"action": "cancel"}, timeout=30)


def _registration(local, event_id: str, registration_id: str) -> dict[str, Any]:
    response = requests.get(
        f"{local.url}/events/{event_id}/registrations/{registration_id}",
        headers=_organizer(local),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _stored(local, event_id: str) -> list[dict[str, Any]]:
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


def _seats(local, event_id: str) -> dict[str, int]:
    item = boto3.client("dynamodb").get_item(
        TableName=local.table, Key=to_attributes(seats_key(event_id)), ConsistentRead=True
    )["Item"]
    seats = from_attributes(item)
    return {k: seats[k] for k in ("registered", "waitlisted", "cancelled")}


def _truth(local, event_id: str) -> dict[str, int]:
    """The seat counter as the registrations themselves say it should be."""
    counted = Counter(r["status"] for r in _stored(local, event_id))
    return {k: counted.get(k, 0) for k in ("registered", "waitlisted", "cancelled")}


# -- one seat --------------------------------------------------------------------------


def test_a_cancelled_seat_goes_to_the_person_waiting_with_one_email(local):
    event_id = "one-seat"
    _put_event(local, event_id, capacity=1)
    first, second = "first.seat@example.org", "second.seat@example.org"
    # Given A holds the only seat and B is on the waiting list
    a = _register(local, event_id, 1, first)
    b = _register(local, event_id, 2, second)
    assert (a["status"], b["status"]) == ("registered", "waitlisted")
    confirmation = _email_with(local, first, CONFIRMED)
    _email_with(local, second, WAITLISTED)
    # When A cancels through the manage link of their confirmation
    token = _manage_token(local, confirmation)
    response = _cancel(local, token)
    assert response.status_code == 200, response.text
    assert response.json() == {"registration_id": a["registration_id"], "status": "cancelled"}
    # Then B becomes registered, and gets the email saying a place is available
    _wait_for(
        "B's promotion",
        lambda: _registration(local, event_id, b["registration_id"])["status"] == "registered",
        local,
    )
    promotion = _email_with(local, second, PROMOTED)
    text = promotion.get_body(("plain",)).get_content()
    assert re.findall(rf"{re.escape(local.url)}/manage/\S+", text)
    join_links = re.findall(rf"{re.escape(local.url)}/join/\S+", text)
    assert len(join_links) == len(event_body()["sessions"])
    redirect = requests.get(join_links[0], allow_redirects=False, timeout=30)
    assert redirect.status_code == 302
    # To B's own Zoom URL once Zoom sync has given one, else to the session's.
    first_session = event_body()["sessions"][0]["id"]
    personal = _registration(local, event_id, b["registration_id"])["zoom"].get(first_session)
    location = redirect.headers["Location"]
    if personal and location == personal["join_url"]:
        assert "/w/" in location and "tk=" in location
    else:
        assert location.startswith("https://us06web.zoom.us/")
    # And A gets the cancellation; A's old links are dead
    _email_with(local, first, CANCELLED)
    assert requests.get(f"{local.url}/manage/{token}", timeout=30).status_code == 410
    # And, once the pump has had time for more, B got exactly one promotion email
    time.sleep(2)
    subjects = _subjects(local, second)
    assert sum(PROMOTED in s for s in subjects) == 1, subjects
    assert len(subjects) == 2  # the waiting-list note, then the promotion
    assert _registration(local, event_id, a["registration_id"])["status"] == "cancelled"
    assert _seats(local, event_id) == {"registered": 1, "waitlisted": 0, "cancelled": 1}
    assert _seats(local, event_id) == _truth(local, event_id)
    # And cancelling again changes nothing
    assert _cancel(local, token).status_code == 410
    assert _seats(local, event_id) == {"registered": 1, "waitlisted": 0, "cancelled": 1}
    assert not local.errors


# -- several seats at once -------------------------------------------------------------


def test_concurrent_cancellations_promote_exactly_as_many_oldest_first(local):
    event_id = "five-seats"
    _put_event(local, event_id, capacity=5)
    holders = [f"holder{i}@example.org" for i in range(5)]
    waiting = [f"waiting{i}@example.org" for i in range(5)]
    # Given five seats taken and five people waiting, in this order
    held = [_register(local, event_id, 10 + i, address) for i, address in enumerate(holders)]
    queued = [_register(local, event_id, 20 + i, address) for i, address in enumerate(waiting)]
    assert {r["status"] for r in held} == {"registered"}
    assert {r["status"] for r in queued} == {"waitlisted"}
    tokens = [_manage_token(local, _email_with(local, a, CONFIRMED)) for a in holders[:3]]
    # When three holders cancel at the same moment (each from two tabs)
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda t: _cancel(local, t), tokens * 2))
    codes = Counter(r.status_code for r in responses)
    assert codes[200] >= 3 and set(codes) <= {200, 410}, codes
    # Then exactly three are promoted: the three who waited longest
    _wait_for(
        "three promotions",
        lambda: Counter(r["status"] for r in _stored(local, event_id))["registered"] == 5,
        local,
    )
    promoted_emails = [
        _email_with(local, address, PROMOTED) for address in waiting[:3]
    ]  # each gets the news
    assert len(promoted_emails) == 3
    time.sleep(2)  # room for a wrong extra promotion to show
    statuses = [_registration(local, event_id, r["registration_id"])["status"] for r in queued]
    assert statuses == ["registered"] * 3 + ["waitlisted"] * 2
    for address in waiting[:3]:
        assert sum(PROMOTED in s for s in _subjects(local, address)) == 1
    for address in waiting[3:]:
        assert not any(PROMOTED in s for s in _subjects(local, address))
    # And the counter agrees with the registrations themselves
    assert _seats(local, event_id) == {"registered": 5, "waitlisted": 2, "cancelled": 3}
    assert _seats(local, event_id) == _truth(local, event_id)
    assert not local.errors
