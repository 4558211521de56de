"""Event statistics end to end, on local mode: the counters equal a full recount.

``GET /events/{id}/stats`` never scans the table: the table stream's handler moves
counters by each change (``chalicelib/domain/stats.py``) and counts every stream record
exactly once, by a mark per record. This module proves it over real HTTP while things
happen at once:

- 45 people register concurrently for 30 seats, in all the event's languages, several
  countries and choices of sessions, while the first 8 who get a seat cancel through
  the manage link of their email, and the stream promotes people from the waiting list;
- once everything has settled, the stats are exactly a recount of the stored
  registrations and their send records, and ``emails.sent`` matches the outbox's emails
  one for one;
- the whole table stream, delivered again to the counting use case, counts nothing:
  every counted change left its mark.

A smaller test checks who may read the stats, and the answer for an unknown event.
"""

from __future__ import annotations

import email
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from chalicelib import auth
from chalicelib.adapters.dynamo.schema import (
    event_registrations,
    from_attributes,
    registration_key,
    stats_key,
    to_attributes,
)
from chalicelib.adapters.dynamo.streams import changes_in
from chalicelib.domain.stats import delta, event_of
from chalicelib.usecases.stats import count
from infra.local.lambdas import TableStream
from tests.builders import LANGUAGES, event_body, person, zoom_base_for

EVENT = "stats-recount"
CAPACITY = 30
PEOPLE = 45
CANCELLING = 8
COUNTRIES = ["PK", "TR", "MY", "FR", "tr", "my"]  # any case in, upper case stored
SESSIONS = 3  # of the reference event's eight: every registered seat is Zoom work too
SESSION_CHOICES: list[list[str] | None] = [None, ["education"], ["family", "youth"]]
STATUSES = ("registered", "waitlisted", "cancelled", "pending")
EMAIL_COUNTS = ("sent", "delivered", "bounced", "complained", "failed", "suppressed")
STREAM_BATCH = 100  # on_table_change's batch size


# -- over HTTP ------------------------------------------------------------------------


def _organizer(local: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {local.organizer_token}"}


def _put_event(local: Any, event_id: str, **overrides: Any) -> None:
    """An event open for registration now (the local server runs on the real clock)."""
    body = event_body(zoom_base_for(event_id), registration={"opens_at": "2020-01-01T00:00:00Z"})
    body["sessions"] = body["sessions"][:SESSIONS]
    body.update(overrides)
    response = requests.put(
        f"{local.url}/events/{event_id}", json=body, headers=_organizer(local), timeout=30
    )
    assert response.status_code in (200, 201), response.text


def _address(n: int) -> str:
    return f"recount{n}@example.org"


def _everyone() -> set[str]:
    return {_address(n) for n in range(PEOPLE)}


def _person(n: int) -> dict[str, Any]:
    """Person ``n``: a language, a country and a choice of sessions that vary with ``n``."""
    body = person(
        n,
        email=_address(n),
        language=LANGUAGES[n % len(LANGUAGES)],
        country=COUNTRIES[n % len(COUNTRIES)],
        timezone="Asia/Karachi",
    )
    sessions = SESSION_CHOICES[n % len(SESSION_CHOICES)]
    if sessions is not None:  # else the default: all sessions
        body["sessions"] = sessions
    return body


def _register(local: Any, n: int) -> tuple[int, str]:
    response = requests.post(
        f"{local.url}/events/{EVENT}/registrations", json=_person(n), timeout=60
    )
    assert response.status_code == 201, response.text
    return n, response.json()["status"]


def _cancel(local: Any, address: str) -> str:
    """Cancel as the person would: with the manage link of the email they got."""
    token = _wait_for(f"a manage link for {address}", lambda: _manage_token(local, address), local)
    response = requests.post(f"{local.url}/manage/{token}", json={"action": "cancel"}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["status"]


def _stats(local: Any, event_id: str = EVENT, **headers: str) -> requests.Response:
    return requests.get(
        f"{local.url}/events/{event_id}/stats", headers=headers or _organizer(local), timeout=30
    )


# -- the outbox -----------------------------------------------------------------------


def _emails(local: Any) -> list[tuple[Path, EmailMessage]]:
    paths = sorted(local.outbox.glob("*.eml")) if local.outbox.exists() else []
    return [(p, email.message_from_bytes(p.read_bytes(), policy=policy.default)) for p in paths]


def _to_any_of(message: EmailMessage, addresses: set[str]) -> bool:
    recipient = str(message["To"]).lower()
    return any(address in recipient for address in addresses)


def _manage_token(local: Any, address: str) -> str | None:
    """The manage token of the first email to ``address`` (whatever its language)."""
    for _, message in _emails(local):
        if _to_any_of(message, {address}):
            text = message.get_body(("plain",)).get_content()
            return re.findall(rf"{re.escape(local.url)}/manage/(\S+)", text)[0]
    return None


def _message_ids_to(local: Any, addresses: set[str]) -> Counter[str]:
    """SES message ids of the outbox's emails to ``addresses`` (``<time>-<id>.eml``)."""
    return Counter(
        path.stem.split("-", 1)[1]
        for path, message in _emails(local)
        if _to_any_of(message, addresses)
    )


# -- waiting --------------------------------------------------------------------------


def _wait_for(what: str, check: Callable[[], Any], local: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"waited in vain for {what}; pump errors: {local.errors}")


def _all_counted(stats: dict[str, Any]) -> bool:
    """Every registration counted, and every registered seat synced to Zoom."""
    in_zoom = {s: states.get("synced", 0) for s, states in stats["zoom"]["by_session"].items()}
    return sum(stats["registrations"].values()) == PEOPLE and in_zoom == stats["by_session"]


def _settled_stats(local: Any, quiet: float = 2.0, timeout: float = 45.0) -> dict[str, Any]:
    """The stats once all is counted and neither they nor the outbox moved for ``quiet`` s."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        response = _stats(local)
        assert response.status_code == 200, response.text
        now = (response.json(), _message_ids_to(local, _everyone()))
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet and _all_counted(now[0]):
            return now[0]
        time.sleep(0.2)
    raise AssertionError(f"the stats never settled: {last}; pump errors: {local.errors}")


# -- the table, read directly ---------------------------------------------------------


def _db() -> Any:
    return boto3.client("dynamodb")


def _query(**query: Any) -> list[dict[str, Any]]:
    pages = _db().get_paginator("query").paginate(**query)
    return [from_attributes(item) for page in pages for item in page["Items"]]


def _consistent_items(local: Any, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
    items = []
    for start in range(0, len(keys), 100):
        chunk = [to_attributes(key) for key in keys[start : start + 100]]
        pending: dict[str, Any] = {local.table: {"Keys": chunk, "ConsistentRead": True}}
        while pending:
            answer = _db().batch_get_item(RequestItems=pending)
            items.extend(from_attributes(i) for i in answer["Responses"].get(local.table, []))
            pending = answer.get("UnprocessedKeys") or {}
    return items


def _registrations(local: Any, event_id: str) -> list[dict[str, Any]]:
    """The event's registrations: their ids from gsi1, each item read consistently."""
    listed = _query(
        TableName=local.table,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :e",
        ExpressionAttributeValues={":e": {"S": event_registrations(event_id)}},
    )
    return _consistent_items(local, [registration_key(r["registration_id"]) for r in listed])


def _send_records(local: Any, registration_id: str) -> list[dict[str, Any]]:
    """The records of the emails sent (or tried) to one registration, under its pk."""
    items = _query(
        TableName=local.table,
        KeyConditionExpression="pk = :r",
        ExpressionAttributeValues={":r": {"S": registration_key(registration_id)["pk"]}},
        ConsistentRead=True,
    )
    return [item for item in items if item.get("kind") == "send"]


def _changes_counted(local: Any, event_id: str) -> int:
    """How many changes the event's counters say they were moved by."""
    item = _db().get_item(
        TableName=local.table, Key=to_attributes(stats_key(event_id)), ConsistentRead=True
    )["Item"]
    return from_attributes(item)["changes"]


def _stream_records(local: Any) -> list[dict[str, Any]]:
    """Every record of the table's stream so far, as Lambda gets them."""
    return TableStream.of_table(local.table, "TRIM_HORIZON").everything()


# -- the recount ----------------------------------------------------------------------


def _recount(registrations: list[dict[str, Any]], sends: list[dict[str, Any]]) -> dict[str, Any]:
    """The stats as domain/stats.py defines them, counted from the items themselves."""
    registered = [r for r in registrations if r["status"] == "registered"]
    zoom: dict[str, Counter[str]] = {}
    for r in registered:
        for session in r["sessions"]:
            if state := ((r.get("zoom_sync") or {}).get(session) or {}).get("state"):
                zoom.setdefault(session, Counter())[state] += 1
    emails = Counter(s["state"] for s in sends if s["state"] in ("sent", "failed", "suppressed"))
    for outcome in ("delivered", "bounced", "complained"):
        emails[outcome] = sum(1 for s in sends if s.get(outcome))
    return {
        "registrations": {
            status: sum(r["status"] == status for r in registrations) for status in STATUSES
        },
        "by_language": dict(Counter(r["language"] for r in registered)),
        "by_country": dict(Counter(r.get("country") or "unknown" for r in registered)),
        "by_session": dict(Counter(s for r in registered for s in r["sessions"])),
        "by_room": {
            session: dict(
                Counter(r["rooms"][session] for r in registered if session in r.get("rooms", {}))
            )
            for session in sorted({s for r in registered for s in r.get("rooms", {})})
        },
        "by_hour": dict(
            Counter(r["created_at"][:13] for r in registrations if r["status"] != "pending")
        ),
        "emails": {name: emails[name] for name in EMAIL_COUNTS},
        "zoom": {"full_sessions": [], "by_session": {s: dict(c) for s, c in zoom.items()}},
        "attendance": {},
        "link_shared": sum(bool(r.get("link_shared")) for r in registrations),
    }


# -- the tests ------------------------------------------------------------------------


@pytest.fixture
def quiet_zoom(local: Any) -> Iterator[Any]:
    """Local mode whose Zoom stand-in posts no webhooks back.

    Their echo of each added registrant moves no counter here, but applying it one by
    one keeps the zoom worker busy for most of a minute.
    """
    webhook_url = local.zoom.webhook_url
    local.zoom.webhook_url = None
    try:
        yield local
    finally:
        local.zoom.webhook_url = webhook_url


def test_the_counters_equal_a_recount_after_concurrent_registrations_and_cancellations(
    quiet_zoom,
):
    local = quiet_zoom
    _put_event(local, EVENT, capacity=CAPACITY)

    # When 45 people register at once for 30 seats, and the first 8 to get a seat cancel
    # with the link of their email while the others are still registering
    answers: dict[int, str] = {}
    with (
        ThreadPoolExecutor(max_workers=16) as registering,
        ThreadPoolExecutor(max_workers=CANCELLING) as cancelling,
    ):
        cancellations = []
        for done in as_completed([registering.submit(_register, local, n) for n in range(PEOPLE)]):
            n, status = done.result()
            answers[n] = status
            if status == "registered" and len(cancellations) < CANCELLING:
                cancellations.append(cancelling.submit(_cancel, local, _address(n)))
        assert [c.result() for c in cancellations] == ["cancelled"] * CANCELLING
    assert len(answers) == PEOPLE
    assert Counter(answers.values())["registered"] >= CAPACITY

    # Then, once the waiting list has moved up and the emails are out, the seats add up
    stats = _settled_stats(local)
    assert stats["registrations"] == {
        "registered": 30,
        "waitlisted": 7,
        "cancelled": 8,
        "pending": 0,
    }

    # And the stats are exactly a recount of the registrations and their send records
    registrations = _registrations(local, EVENT)
    assert len(registrations) == PEOPLE
    sends = [s for r in registrations for s in _send_records(local, r["registration_id"])]
    assert {s["event_id"] for s in sends} == {EVENT}
    names = stats.pop("country_names")  # the event's names, not counters
    assert stats == _recount(registrations, sends)
    assert set(stats["by_country"]) == {"PK", "TR", "MY", "FR"}
    assert set(names) == set(stats["by_country"]) and names["PK"] == "باكستان"

    # And emails.sent is the outbox: one email for each send record in state "sent"
    sent = Counter(s["ses_message_id"] for s in sends if s["state"] == "sent")
    assert _message_ids_to(local, _everyone()) == sent
    assert stats["emails"]["sent"] == sum(sent.values()) >= PEOPLE + CANCELLING

    # When the whole table stream is delivered again, in the handler's batches
    records = _stream_records(local)
    counted_again = sum(
        count(local.majlis, changes_in({"Records": records[start : start + STREAM_BATCH]}))
        for start in range(0, len(records), STREAM_BATCH)
    )

    # Then nothing is counted twice, and nothing moved
    assert counted_again == 0
    again = _stats(local).json()
    assert again.pop("country_names") == names
    assert again == stats
    # And each change that moves this event's counters was counted once, with its mark
    ours = [
        change
        for change in changes_in({"Records": records})
        if EVENT in (event_of(change.new), event_of(change.old)) and delta(change.old, change.new)
    ]
    assert len(ours) > PEOPLE
    assert _changes_counted(local, EVENT) == len(ours)
    marks = [{"pk": f"STATSMARK#{change.record_id}", "sk": "MARK"} for change in ours]
    assert len(_consistent_items(local, marks)) == len(ours)
    assert not local.errors


def test_only_an_organizer_of_the_event_reads_its_stats(local):
    _put_event(local, "stats-access")
    other_event = auth.mint(
        local.majlis.tokens,
        events=["another-event"],
        roles=["read"],
        label="another event's organizer",
        now=local.majlis.clock(),
        valid_for=timedelta(hours=1),
    )

    # An unknown event is a problem document
    unknown = _stats(local, "no-such-event")
    assert unknown.status_code == 404, unknown.text
    assert unknown.headers["Content-Type"].startswith("application/problem+json")
    assert unknown.json()["status"] == 404

    # No token, a wrong one, or one for another event is turned away
    for headers, status in (
        ({"Accept": "application/json"}, 401),
        ({"Authorization": "Bearer not-a-token"}, 401),
        ({"Authorization": f"Bearer {other_event}"}, 403),
    ):
        refused = _stats(local, "stats-access", **headers)
        assert refused.status_code == status, refused.text
        assert refused.headers["Content-Type"].startswith("application/problem+json")

    # The organizer's token reads the stats of an event nobody registered for yet: zeros
    answer = _stats(local, "stats-access")
    assert answer.status_code == 200, answer.text
    assert answer.json()["registrations"] == dict.fromkeys(STATUSES, 0)
    assert answer.json()["emails"] == dict.fromkeys(EMAIL_COUNTS, 0)
    assert answer.json()["by_language"] == answer.json()["by_session"] == {}
