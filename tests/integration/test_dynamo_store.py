"""The DynamoDB adapters on moto: the same promises as the fakes the unit tests use."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo.schema import event_key, seats_key, to_attributes
from chalicelib.domain.events import Event
from chalicelib.domain.ids import new_id
from chalicelib.domain.registrations import (
    Registration,
    RegistrationFilter,
    RegistrationForm,
    Seats,
    Status,
    seat_free,
)
from chalicelib.ports import AlreadyRegistered, SeatsChanged, StoreBusy
from tests.builders import event_body, person


def _registration(aws, n: int, **form) -> Registration:
    event = aws.events.get("conf")
    checked = RegistrationForm.model_validate(person(n, **form), context={"event": event})
    return Registration.new(new_id(), event, checked, aws.clock())


def _set_seats(aws, registered: int, waitlisted: int) -> None:
    boto3.client("dynamodb").update_item(
        TableName=aws.settings.table_name,
        Key=to_attributes(seats_key("conf")),
        UpdateExpression="SET registered = :r, waitlisted = :w",
        ExpressionAttributeValues=to_attributes({":r": registered, ":w": waitlisted}),
    )


def _seats(aws) -> dict:
    item = boto3.client("dynamodb").get_item(
        TableName=aws.settings.table_name, Key=to_attributes(seats_key("conf"))
    )["Item"]
    return {k: int(item[k]["N"]) for k in ("registered", "waitlisted", "cancelled")}


@pytest.mark.parametrize(
    "registered, waitlisted, capacity, status",
    list(
        itertools.product([0, 1, 2], [0, 1], [None, 0, 2], [Status.REGISTERED, Status.WAITLISTED])
    ),
)
def test_seat_condition_agrees_with_the_domain_rule(aws, registered, waitlisted, capacity, status):
    # Given a seat counter and a capacity
    _set_seats(aws, registered, waitlisted)
    free = seat_free(Seats(registered, waitlisted), capacity)
    registration = _registration(aws, 1).model_copy(update={"status": status})
    # When the registration is added with that status
    try:
        aws.registrations.add(registration, capacity)
        accepted = True
    except SeatsChanged:
        accepted = False
    # Then DynamoDB's condition says what the domain rule says
    assert accepted == (free == (status is Status.REGISTERED))
    stored = aws.registrations.get(registration.registration_id) is not None
    assert stored == accepted
    counts = _seats(aws)
    bump = 1 if accepted else 0
    assert counts["registered"] == registered + (bump if status is Status.REGISTERED else 0)
    assert counts["waitlisted"] == waitlisted + (bump if status is Status.WAITLISTED else 0)


def test_same_email_is_refused_with_the_existing_id(aws):
    first = _registration(aws, 1, email="Same@Example.org")
    aws.registrations.add(first, 100)
    second = _registration(aws, 2, email="same@EXAMPLE.org")
    with pytest.raises(AlreadyRegistered) as refused:
        aws.registrations.add(second, 100)
    assert refused.value.registration_id == first.registration_id
    assert aws.registrations.get(second.registration_id) is None
    assert _seats(aws)["registered"] == 1


def test_a_registration_round_trips(aws):
    original = _registration(aws, 1, first_name="فاطمة", last_name=None, sessions=["youth"])
    aws.registrations.add(original, None)
    loaded = aws.registrations.get(original.registration_id, consistent=True)
    assert loaded == original


def test_request_mail_raises_the_sequence_at_most_once_per_interval(aws):
    registration = _registration(aws, 1)
    aws.registrations.add(registration, None)
    now = aws.clock()
    # Within the interval: status reported, nothing owed
    assert (
        aws.registrations.request_mail(
            registration.registration_id, "resend", now, now - timedelta(minutes=10)
        )
        is Status.REGISTERED
    )
    assert aws.registrations.get(registration.registration_id).mail_seq == 1
    # After it: one more email owed
    later = now + timedelta(minutes=11)
    aws.registrations.request_mail(
        registration.registration_id, "resend", later, later - timedelta(minutes=10)
    )
    again = aws.registrations.get(registration.registration_id)
    assert (again.mail_seq, again.mail_reason) == (2, "resend")
    assert aws.registrations.request_mail("0" * 26, "resend", later, later) is None


def test_pages_filter_and_resume_from_the_cursor(aws):
    # Given 7 registrations, 3 of them in Urdu for the session "youth"
    ids = []
    for n in range(7):
        urdu = n % 2 == 0 and n < 6
        form = {"language": "ur", "sessions": ["youth"]} if urdu else {"language": "en"}
        registration = _registration(aws, n, **form)
        aws.registrations.add(registration, None)
        ids.append(registration.registration_id)
    # When paging two at a time through the Urdu speakers of "youth"
    where = RegistrationFilter(languages=frozenset({"ur"}), sessions=frozenset({"youth"}))
    seen, cursor = [], None
    for _ in range(5):
        page = aws.registrations.page("conf", where, 2, cursor)
        seen.extend(r.registration_id for r in page.items)
        cursor = page.cursor
        if cursor is None:
            break
    # Then each appears once, oldest first
    assert seen == [ids[0], ids[2], ids[4]]
    everyone = aws.registrations.page("conf", RegistrationFilter(), 500, None)
    assert [r.registration_id for r in everyone.items] == ids
    assert everyone.cursor is None
    with pytest.raises(ValueError, match="cursor"):
        aws.registrations.page("conf", where, 2, "not-a-cursor")


def test_send_log_claims_once_and_takes_over_a_dead_claim(aws):
    now = aws.clock()
    first = aws.send_log.claim("r1", 1, "registered", now)
    assert first.proceed
    busy = aws.send_log.claim("r1", 1, "registered", now + timedelta(seconds=5))
    assert (busy.proceed, busy.in_progress) == (False, True)
    lease = timedelta(seconds=aws.settings.send_lease_seconds + 1)
    assert aws.send_log.claim("r1", 1, "registered", now + lease).proceed
    aws.send_log.sent("r1", 1, "ses-123", now + lease)
    done = aws.send_log.claim("r1", 1, "registered", now + 10 * lease)
    assert (done.proceed, done.in_progress) == (False, False)
    found = boto3.client("dynamodb").query(
        TableName=aws.settings.table_name,
        IndexName="gsi2",
        KeyConditionExpression="gsi2pk = :m",
        ExpressionAttributeValues={":m": {"S": "SESMSG#ses-123"}},
    )["Items"]
    assert [(i["pk"]["S"], i["sk"]["S"]) for i in found] == [("REG#r1", "MAIL#00000001")]


def test_a_released_claim_can_be_taken_at_once(aws):
    now = aws.clock()
    assert aws.send_log.claim("r2", 3, "registered", now).proceed
    aws.send_log.release("r2", 3)
    assert aws.send_log.claim("r2", 3, "registered", now).proceed
    aws.send_log.failed("r2", 3, "MessageRejected: no", now)
    aws.send_log.release("r2", 3)  # a finished record is never released
    assert not aws.send_log.claim("r2", 3, "registered", now).proceed


def test_event_put_reports_creation_and_keeps_the_seat_counter(aws):
    event = Event.model_validate({**event_body(capacity=3), "id": "other"})
    assert aws.events.put(event, aws.clock()) is True
    aws.registrations.add(
        _registration(aws, 1).model_copy(update={"event_id": "other"}), event.capacity
    )
    assert aws.events.put(event, aws.clock()) is False
    item = boto3.client("dynamodb").get_item(
        TableName=aws.settings.table_name, Key=to_attributes(seats_key("other"))
    )["Item"]
    assert item["registered"]["N"] == "1"


def _title(event: Event, text: str) -> Event:
    return event.model_copy(update={"title": {**event.title, "en": text}})


def test_an_event_saved_twice_from_one_revision_keeps_the_first_save(aws):
    stored = aws.events.get("conf", fresh=True)
    first = _title(stored, "First").model_copy(update={"revision": stored.revision + 1})
    second = _title(stored, "Second").model_copy(update={"revision": stored.revision + 1})
    # Two organisers saving what they both read: the condition lets one through
    assert aws.events.save(first, stored.revision, None, aws.clock()) is True
    assert aws.events.save(second, stored.revision, None, aws.clock()) is False
    now = aws.events.get("conf", fresh=True)
    assert (now.title["en"], now.revision) == ("First", stored.revision + 1)
    # A new event is created once: a second creation of the same id is refused
    new = Event.model_validate({**event_body(), "id": "fresh"})
    assert aws.events.save(new, None, None, aws.clock()) is True
    assert aws.events.save(_title(new, "Again"), None, None, aws.clock()) is False
    assert aws.events.get("fresh", fresh=True).title["en"] == new.title["en"]


def test_an_event_stored_before_revisions_were_kept_is_at_revision_zero(aws):
    # Given an event item as stored before "revision" existed (not in the item, nor in
    # its settings)
    settings = Event.model_validate({**event_body(), "id": "legacy"}).model_dump(mode="json")
    settings.pop("revision")
    boto3.client("dynamodb").put_item(
        TableName=aws.settings.table_name,
        Item=to_attributes(
            {
                **event_key("legacy"),
                "kind": "event",
                "settings": json.dumps(settings),
                "updated_at": "2026-01-01T00:00:00Z",
            }
        ),
    )
    stored = aws.events.get("legacy", fresh=True)
    assert stored.revision == 0
    # Then it saves from revision 0, and only once
    revised = _title(stored, "Renamed").model_copy(update={"revision": 1})
    assert aws.events.save(revised, 0, None, aws.clock()) is True
    assert aws.events.save(_title(stored, "Late"), 0, None, aws.clock()) is False
    assert aws.events.get("legacy", fresh=True).revision == 1


@pytest.mark.parametrize(
    "refusal",
    [
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "ThrottlingError"}],
        },
    ],
    ids=["throttled", "over-throughput", "throttled-in-transaction"],
)
def test_a_throttled_event_save_is_store_busy_and_writes_nothing(aws, monkeypatch, refusal):
    stored = aws.events.get("conf", fresh=True)

    def throttled(**_: object) -> None:
        raise ClientError(refusal, "TransactWriteItems")

    monkeypatch.setattr(aws.events._inner.db, "transact_write_items", throttled)
    revised = _title(stored, "Busy").model_copy(update={"revision": stored.revision + 1})
    with pytest.raises(StoreBusy):
        aws.events.save(revised, stored.revision, None, aws.clock())
    assert aws.events.get("conf", fresh=True) == stored
