"""Registering twice with the same email: the existing registration, and its email again
at most once per ``resend_interval_seconds`` (10 minutes)."""

from __future__ import annotations

import json

from chalicelib.domain.registrations import Registration, Seats, Status
from chalicelib.ports import Change, Services
from chalicelib.usecases.outbox import jobs_for
from chalicelib.usecases.registrations import Registered, register
from tests.builders import person
from tests.fakes import Clock
from tests.unit.support import EVENT_ID, configure


def sign_up(majlis: Services, **overrides: object) -> Registered:
    return register(majlis, EVENT_ID, person(**overrides), form=False)


def saved(majlis: Services, registered: Registered) -> Registration:
    return majlis.registrations.registrations[registered.registration_id]


def test_the_resend_interval_is_ten_minutes(majlis: Services) -> None:
    assert majlis.settings.resend_interval_seconds == 600


def test_the_same_email_twice_answers_with_the_existing_registration(majlis: Services) -> None:
    # Given a registration
    first = sign_up(majlis)
    # When the same email registers again, with other details
    again = sign_up(majlis, first_name="Other", country="PK", sessions=["family"])
    # Then the answer is the existing registration (200, not 201), unchanged
    assert again == Registered(first.registration_id, Status.REGISTERED, new=False)
    assert again.view() == {"registration_id": first.registration_id, "status": "registered"}
    assert len(majlis.registrations.registrations) == 1
    kept = saved(majlis, first)
    assert (kept.first_name, kept.country) == ("Amina", "MY")
    assert len(kept.sessions) == 8
    assert majlis.events.seats[EVENT_ID] == Seats(registered=1)


def test_a_duplicate_within_ten_minutes_does_not_resend(majlis: Services, clock: Clock) -> None:
    # Given a registration made just now (its confirmation is owed: mail_seq 1)
    first = sign_up(majlis)
    assert saved(majlis, first).mail_seq == 1
    # When the person registers again 1 and 9 minutes later
    clock.advance(minutes=1)
    sign_up(majlis)
    clock.advance(minutes=8, seconds=59)
    sign_up(majlis)
    # Then no second email is owed
    assert saved(majlis, first).mail_seq == 1
    assert saved(majlis, first).mail_reason == "created"


def test_after_ten_minutes_five_duplicates_owe_one_email(majlis: Services, clock: Clock) -> None:
    # Given a registration made 11 minutes ago
    first = sign_up(majlis)
    clock.advance(minutes=11)
    # When five duplicates arrive
    answers = [sign_up(majlis) for _ in range(5)]
    # Then each answers with the registration, and exactly one more email is owed
    assert {a.registration_id for a in answers} == {first.registration_id}
    assert not any(a.new for a in answers)
    registration = saved(majlis, first)
    assert registration.mail_seq == 2
    assert registration.mail_reason == "resend"
    assert registration.mail_requested_at == clock()


def test_the_resend_window_starts_again_after_each_resend(majlis: Services, clock: Clock) -> None:
    first = sign_up(majlis)
    clock.advance(minutes=10)
    sign_up(majlis)  # exactly 10 minutes later: resent
    assert saved(majlis, first).mail_seq == 2
    clock.advance(minutes=9)
    sign_up(majlis)  # 9 minutes after the resend: not again
    assert saved(majlis, first).mail_seq == 2
    clock.advance(minutes=1)
    sign_up(majlis)
    assert saved(majlis, first).mail_seq == 3


def test_a_resend_becomes_exactly_one_mail_job(majlis: Services, clock: Clock) -> None:
    # Given a registration as stored, and the same after a duplicate 10 minutes later
    first = sign_up(majlis)
    before = saved(majlis, first).model_dump(mode="json") | {"kind": "registration"}
    clock.advance(minutes=10)
    sign_up(majlis)
    after = saved(majlis, first).model_dump(mode="json") | {"kind": "registration"}
    # When the table's change reaches the outbox
    jobs = [
        json.loads(job.message())
        for job in jobs_for(Change("100", "MODIFY", before, after, record_id="evt-1"))
    ]
    # Then it owes one email, for the new sequence number
    assert jobs == [
        {
            "type": "registration_mail",
            "registration_id": first.registration_id,
            "seq": 2,
            "correlation_id": "evt-1",
        }
    ]


def test_a_waitlisted_registrants_duplicate_reports_waitlisted(majlis: Services) -> None:
    # Given a full event and someone on its waiting list
    configure(majlis, capacity=1)
    sign_up(majlis, email="seated@example.org")
    waiting = sign_up(majlis, email="waiting@example.org")
    assert waiting.status is Status.WAITLISTED
    # When they register again
    again = sign_up(majlis, email="WAITING@example.org")
    # Then the answer says they are waiting, not that they have a seat
    assert again == Registered(waiting.registration_id, Status.WAITLISTED, new=False)
    assert majlis.events.seats[EVENT_ID] == Seats(registered=1, waitlisted=1)
