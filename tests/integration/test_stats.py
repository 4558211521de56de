"""Event statistics on moto: counters moved by the table's stream, exactly once.

The stream records are read from moto's DynamoDB Streams and fed to the same use case
the stream handler runs; then fed again, as Lambda does after a failure. The counters
must equal a recount of the table, and ``GET /events/{id}/stats`` must show them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3

from chalicelib import auth
from chalicelib.adapters.dynamo.schema import from_attributes
from chalicelib.adapters.dynamo.streams import changes_in
from chalicelib.domain.registrations import EmailStatus
from chalicelib.jobs import RegistrationMail
from chalicelib.usecases import stats, waitlist
from chalicelib.usecases.delivery import SesEvent, apply_ses_event
from chalicelib.usecases.events import put_event
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import send_registration_mail
from infra.local.lambdas import TableStream
from tests.builders import event_body, person, zoom_base_for

EVENT = "counted"


def _stream_records(table: str) -> list[dict[str, Any]]:
    return TableStream.of_table(table, "TRIM_HORIZON").everything()


def _count_new(aws, seen: set[str]) -> int:
    """Feed the stream records not fed yet, in batches of 100 as Lambda would."""
    fresh = [r for r in _stream_records(aws.settings.table_name) if r["eventID"] not in seen]
    seen.update(r["eventID"] for r in fresh)
    return sum(
        stats.count(aws, changes_in({"Records": fresh[i : i + 100]}))
        for i in range(0, len(fresh), 100)
    )


def _recount(aws, event_id: str) -> dict[str, Any]:
    scan = boto3.client("dynamodb").get_paginator("scan")
    items = [
        from_attributes(item)
        for page in scan.paginate(TableName=aws.settings.table_name, ConsistentRead=True)
        for item in page["Items"]
    ]
    people = [i for i in items if i.get("kind") == "registration" and i["event_id"] == event_id]
    ids = {p["registration_id"] for p in people}
    sends = [i for i in items if i.get("kind") == "send" and i["pk"][4:] in ids]
    registered = [p for p in people if p["status"] == "registered"]
    statuses = Counter(p["status"] for p in people)
    return {
        "registrations": {
            s: statuses[s] for s in ("registered", "waitlisted", "cancelled", "pending")
        },
        "by_language": dict(Counter(p["language"] for p in registered)),
        "by_country": dict(Counter(p.get("country") or "unknown" for p in registered)),
        "by_session": dict(Counter(s for p in registered for s in p["sessions"])),
        "emails_sent": sum(1 for s in sends if s["state"] == "sent"),
        "emails_suppressed": sum(1 for s in sends if s["state"] == "suppressed"),
        "emails_delivered": sum(1 for s in sends if s.get("delivered")),
    }


def _stats(api, aws) -> dict[str, Any]:
    token = auth.mint(aws.tokens, [EVENT], ["read"], "stats", aws.clock())
    answer = api.http.get(f"/events/{EVENT}/stats", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.body
    return answer.json_body


def _send_record(aws, registration_id: str) -> dict[str, Any]:
    found = boto3.client("dynamodb").query(
        TableName=aws.settings.table_name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :mail)",
        ExpressionAttributeValues={":pk": {"S": f"REG#{registration_id}"}, ":mail": {"S": "MAIL#"}},
    )["Items"]
    return from_attributes(found[0])


def test_a_change_is_counted_once(aws):
    assert aws.stats.apply(EVENT, [("record-1", {"status.registered": 1})]) == 1
    assert aws.stats.apply(EVENT, [("record-1", {"status.registered": 1})]) == 0
    assert aws.stats.read(EVENT) == {"status.registered": 1}


def test_a_batch_larger_than_a_transaction_counts_only_what_is_new(aws):
    changes = [(f"record-{n}", {"status.registered": 1, "language.ur": 1}) for n in range(150)]
    assert aws.stats.apply(EVENT, changes[:60]) == 60
    # Delivered again with 90 more (a retried, longer batch): only those 90 count.
    assert aws.stats.apply(EVENT, changes) == 90
    assert aws.stats.read(EVENT) == {"status.registered": 150, "language.ur": 150}


def test_counters_equal_a_recount_and_replays_change_nothing(aws, api):
    put_event(aws, EVENT, event_body(zoom_base_for(EVENT), capacity=6))
    languages = ["ar", "ur", "tr", "en", "ms"]
    countries = ["PK", "TR", "MY", "FR"]
    people = [
        register(
            aws,
            EVENT,
            person(
                n,
                language=languages[n % len(languages)],
                country=countries[n % len(countries)],
                sessions=["education"] if n % 3 else ["education", "youth"],
            ),
            form=False,
        )
        for n in range(10)
    ]
    seen: set[str] = set()
    assert _count_new(aws, seen) > 0

    # Two cancel; the waiting list fills their seats; one changes sessions; one bounces.
    now = aws.clock()
    for cancelled in people[:2]:
        aws.registrations.cancel(aws.registrations.get(cancelled.registration_id), now)
    assert waitlist.promote(aws, EVENT) == 2
    changed = aws.registrations.get(people[3].registration_id)
    aws.registrations.change(changed, {"sessions": ["youth"]}, ["education"], now)
    aws.registrations.set_email_status(people[4].registration_id, EmailStatus.BOUNCED, now)
    # Emails: sent to most, suppressed for the bounced address, one reported delivered.
    for registration in people[2:]:
        current = aws.registrations.get(registration.registration_id, consistent=True)
        send_registration_mail(
            aws, RegistrationMail(registration_id=current.registration_id, seq=current.mail_seq)
        )
    delivered = _send_record(aws, people[5].registration_id)
    for _ in range(2):  # SES may report an event twice
        apply_ses_event(aws, SesEvent("Delivery", delivered["ses_message_id"], None))
    _count_new(aws, seen)

    expected = _recount(aws, EVENT)
    assert expected["registrations"] == {
        "registered": 6,
        "waitlisted": 2,
        "cancelled": 2,
        "pending": 0,
    }
    assert expected["emails_suppressed"] == 1
    shown = _stats(api, aws)
    assert shown["registrations"] == expected["registrations"]
    assert shown["by_language"] == expected["by_language"]
    assert shown["by_country"] == expected["by_country"]
    assert shown["by_session"] == expected["by_session"]
    assert shown["emails"]["sent"] == expected["emails_sent"] > 0
    assert shown["emails"]["suppressed"] == 1
    assert shown["emails"]["delivered"] == expected["emails_delivered"] == 1

    # Lambda delivers a failed batch again: nothing moves.
    replay = _stream_records(aws.settings.table_name)
    assert stats.count(aws, changes_in({"Records": replay[:100]})) == 0
    assert _stats(api, aws) == shown


def test_stats_need_a_read_token_and_a_known_event(api, aws):
    assert api.http.get(f"/events/{EVENT}/stats").status_code == 401
    writer = auth.mint(aws.tokens, ["conf"], ["send"], "writer", aws.clock())
    refused = api.http.get("/events/conf/stats", headers={"Authorization": f"Bearer {writer}"})
    assert refused.status_code == 403
    reader = auth.mint(aws.tokens, ["*"], ["read"], "reader", aws.clock())
    missing = api.http.get("/events/nope/stats", headers={"Authorization": f"Bearer {reader}"})
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
    empty = api.http.get("/events/conf/stats", headers={"Authorization": f"Bearer {reader}"})
    assert empty.status_code == 200
    assert empty.json_body["registrations"] == {
        "registered": 0,
        "waitlisted": 0,
        "cancelled": 0,
        "pending": 0,
    }


def test_a_session_full_in_zoom_shows_in_the_stats(aws, api):
    put_event(aws, EVENT, event_body(zoom_base_for(EVENT)))
    someone = register(aws, EVENT, person(1, sessions=["education"]), form=False)
    now = aws.clock()
    # What the zoom worker records when Zoom answers 3043 (capacity reached).
    meeting = aws.events.get(EVENT).session("education").zoom.key
    aws.zoom_store.mark(
        someone.registration_id, "education", "full", now, "capacity reached", meeting=meeting
    )
    aws.zoom_store.session_full(EVENT, "education", now)
    _count_new(aws, set())
    assert _stats(api, aws)["zoom"] == {
        "full_sessions": ["education"],
        "by_session": {"education": {"full": 1}},
    }
