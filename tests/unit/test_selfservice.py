"""Self-service on the fakes: manage (update, cancel), unsubscribe, the waiting list.

Each use case is driven with the tokens a registrant really receives (signed by
``registration_links``), and the emails that follow are sent by the real mail worker
on the fakes and read back with ``email`` and ``icalendar``, as a mail client would.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar

from chalicelib.domain.registrations import EmailStatus, Registration, Seats, Status
from chalicelib.jobs import RegistrationMail
from chalicelib.mail.calendar import sequence
from chalicelib.ports import Services
from chalicelib.signed_links import (
    MANAGE_LIFETIME,
    Link,
    Purpose,
    RegistrationLinks,
    registration_links,
    sign,
)
from chalicelib.usecases import selfservice, waitlist
from chalicelib.usecases.access import LinkRefused, Refusal, join
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import send_registration_mail
from tests.builders import person
from tests.fakes import TEST_KEYS, Clock
from tests.unit.support import EVENT_ID, configure, field_codes, problem_of

BASE = "https://r.example.org"


# -- helpers ---------------------------------------------------------------------------


def sign_up(majlis: Services, n: int = 1, **fields: Any) -> Registration:
    outcome = register(majlis, EVENT_ID, person(n, **fields), form=False)
    found = majlis.registrations.get(outcome.registration_id)
    assert found is not None
    return found


def links_of(majlis: Services, registration: Registration) -> RegistrationLinks:
    event = majlis.events.get(EVENT_ID)
    assert event is not None
    return registration_links(TEST_KEYS, BASE, event, registration)


def public(majlis: Services) -> str:
    """The base URL of the links in emails."""
    return majlis.settings.public_base_url.rstrip("/")


def token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def manage_token(majlis: Services, registration: Registration) -> str:
    return token(links_of(majlis, registration).manage)


def unsubscribe_token(majlis: Services, registration: Registration) -> str:
    return token(links_of(majlis, registration).unsubscribe)


def stored(majlis: Services, registration_id: str) -> Registration:
    found = majlis.registrations.get(registration_id)
    assert found is not None
    return found


def seats(majlis: Services) -> Seats:
    return majlis.events.seats[EVENT_ID]


def refusal(call: Any) -> LinkRefused:
    with pytest.raises(LinkRefused) as refused:
        call()
    return refused.value


def sent_message(majlis: Services, registration_id: str) -> EmailMessage:
    """Send what the registration is owed now; the message as a mail client reads it."""
    seq = stored(majlis, registration_id).mail_seq
    before = len(majlis.mailer.sent)
    assert (
        send_registration_mail(majlis, RegistrationMail(registration_id=registration_id, seq=seq))
        == "sent"
    )
    assert len(majlis.mailer.sent) == before + 1
    message = email.message_from_bytes(majlis.mailer.sent[-1]["raw"], policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return part.get_content()


def calendars(message: EmailMessage) -> dict[str, Calendar]:
    """The calendar attachments by file name."""
    found = {}
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            found[part.get_filename()] = Calendar.from_ical(part.get_content())
    return found


def uids(calendar: Calendar) -> list[str]:
    return [str(vevent["uid"]) for vevent in calendar.walk("VEVENT")]


def sequences(calendar: Calendar) -> set[int]:
    return {int(vevent["sequence"]) for vevent in calendar.walk("VEVENT")}


# -- viewing ---------------------------------------------------------------------------


def test_the_manage_link_leads_to_the_registration_and_changes_nothing(majlis: Services) -> None:
    registration = sign_up(majlis)
    writes = majlis.registrations.writes
    managed = selfservice.manage(majlis, manage_token(majlis, registration))
    assert managed.registration == registration
    assert managed.event.id == EVENT_ID
    unsubscribing = selfservice.unsubscribe_view(majlis, unsubscribe_token(majlis, registration))
    assert unsubscribing.registration == registration
    assert majlis.registrations.writes == writes
    assert stored(majlis, registration.registration_id) == registration


# -- cancelling ------------------------------------------------------------------------


def test_cancelling_revokes_the_links_frees_the_seat_and_owes_a_last_email(
    majlis: Services, clock: Clock
) -> None:
    # Given a registered person
    registration = sign_up(majlis, sessions=["education", "youth"])
    assert seats(majlis) == Seats(registered=1)
    clock.advance(minutes=5)
    # When they cancel through their manage link
    managed = selfservice.cancel(majlis, manage_token(majlis, registration))
    # Then the registration is cancelled with every link revoked
    after = stored(majlis, registration.registration_id)
    assert managed.registration == after
    assert after.status is Status.CANCELLED
    assert after.link_version == registration.link_version + 1
    # And a last email (the cancellation) is owed, taking the sessions out of the calendar
    assert after.mail_seq == registration.mail_seq + 1
    assert after.mail_reason == "cancelled"
    assert after.mail_requested_at == clock()
    assert after.calendar_cancel == ["education", "youth"]
    # And the seat is free again
    assert seats(majlis) == Seats(registered=0, cancelled=1)


def test_a_cancelled_address_registers_again_as_new(majlis: Services) -> None:
    registration = sign_up(majlis, email="again@example.org")
    selfservice.cancel(majlis, manage_token(majlis, registration))
    # When the same address (in another case) registers again
    outcome = register(majlis, EVENT_ID, person(1, email="AGAIN@example.org"), form=False)
    # Then it is a new registration (201), not the cancelled one (200)
    assert outcome.new is True
    assert outcome.registration_id != registration.registration_id
    assert outcome.status is Status.REGISTERED
    assert seats(majlis) == Seats(registered=1, cancelled=1)


def test_every_old_link_is_refused_after_cancelling(majlis: Services) -> None:
    registration = sign_up(majlis)
    links = links_of(majlis, registration)
    selfservice.cancel(majlis, token(links.manage))
    for call in (
        lambda: selfservice.manage(majlis, token(links.manage)),
        lambda: selfservice.cancel(majlis, token(links.manage)),
        lambda: selfservice.update(majlis, token(links.manage), {"language": "en"}),
        lambda: selfservice.unsubscribe(majlis, token(links.unsubscribe)),
    ):
        refused = refusal(call)
        assert refused.reason is Refusal.CANCELLED
        assert refused.reason.status == 410
        assert refused.language == registration.language
    # And cancelling twice counted the seat once
    assert seats(majlis) == Seats(registered=0, cancelled=1)


def test_a_waitlisted_person_cancelling_frees_a_waiting_place_not_a_seat(
    majlis: Services,
) -> None:
    configure(majlis, capacity=1)
    sign_up(majlis, 1)
    waiting = sign_up(majlis, 2)
    assert waiting.status is Status.WAITLISTED
    selfservice.cancel(majlis, manage_token(majlis, waiting))
    after = stored(majlis, waiting.registration_id)
    assert after.status is Status.CANCELLED
    assert after.calendar_cancel == []  # nothing was ever in their calendar
    assert seats(majlis) == Seats(registered=1, waitlisted=0, cancelled=1)


# -- updating --------------------------------------------------------------------------


def test_changing_sessions_language_and_time_zone(majlis: Services, clock: Clock) -> None:
    registration = sign_up(majlis, sessions=["education", "family", "youth"])
    clock.advance(minutes=3)
    managed = selfservice.update(
        majlis,
        manage_token(majlis, registration),
        {"sessions": ["science", "education"], "language": "ur", "timezone": "Asia/Karachi"},
    )
    after = stored(majlis, registration.registration_id)
    assert managed.registration == after
    # Then the changes are stored, sessions in the event's order
    assert after.sessions == ["education", "science"]
    assert after.language == "ur" and after.timezone == "Asia/Karachi"
    # And an email is owed, with the dropped sessions to take out of the calendar
    assert after.mail_seq == registration.mail_seq + 1
    assert after.mail_reason == "updated"
    assert after.calendar_cancel == ["family", "youth"]
    assert after.updated_at == clock()
    # And a join link works for the new session (its click record exists)
    assert "science" in after.clicks
    # And nothing about the seat or the links changed
    assert after.status is Status.REGISTERED
    assert after.link_version == registration.link_version
    assert seats(majlis) == Seats(registered=1)


def test_changing_only_the_language_drops_no_session(majlis: Services) -> None:
    registration = sign_up(majlis, language="ms")
    selfservice.update(majlis, manage_token(majlis, registration), {"language": "tr"})
    after = stored(majlis, registration.registration_id)
    assert after.language == "tr"
    assert after.sessions == registration.sessions
    assert after.calendar_cancel == []
    assert after.mail_reason == "updated"


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"language": "ms"},
        {"timezone": "Asia/Kuala_Lumpur"},
        {"sessions": ["youth", "education"]},  # the same two, in another order
        {"language": "ms", "timezone": "Asia/Kuala_Lumpur", "sessions": ["education", "youth"]},
    ],
)
def test_nothing_changed_owes_no_email(majlis: Services, changes: dict[str, Any]) -> None:
    registration = sign_up(majlis, sessions=["education", "youth"])
    writes = majlis.registrations.writes
    managed = selfservice.update(majlis, manage_token(majlis, registration), changes)
    assert managed.registration == registration
    assert stored(majlis, registration.registration_id) == registration
    assert majlis.registrations.writes == writes


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"language": "xx"}, [("language", "invalid_language")]),
        ({"timezone": "Mars/Olympus"}, [("timezone", "invalid_timezone")]),
        ({"sessions": ["nope"]}, [("sessions", "unknown_session")]),
        ({"sessions": []}, [("sessions", "required")]),
        ({"sessions": ["youth", "youth"]}, [("sessions", "duplicate")]),
        ({"email": "other@example.org"}, [("email", "unknown_field")]),
        ({"status": "registered"}, [("status", "unknown_field")]),
    ],
)
def test_invalid_changes_are_422_naming_the_fields(
    majlis: Services, changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    registration = sign_up(majlis)
    problem = problem_of(
        lambda: selfservice.update(majlis, manage_token(majlis, registration), changes)
    )
    assert problem.status == 422
    assert field_codes(problem) == expected
    assert stored(majlis, registration.registration_id) == registration


def test_several_invalid_fields_are_all_named(majlis: Services) -> None:
    registration = sign_up(majlis)
    problem = problem_of(
        lambda: selfservice.update(
            majlis,
            manage_token(majlis, registration),
            {"language": 7, "timezone": "Nowhere/Land", "sessions": "youth"},
        )
    )
    assert problem.status == 422
    assert sorted(field for field, _ in field_codes(problem)) == [
        "language",
        "sessions",
        "timezone",
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"action": "cancel"}, ("cancel", {})),
        ({"action": "update"}, ("update", {})),
        ({"action": "update", "language": "en"}, ("update", {"language": "en"})),
    ],
)
def test_the_manage_actions(fields: dict[str, Any], expected: tuple[str, dict]) -> None:
    assert selfservice.manage_action(fields) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, [("action", "invalid_choice")]),
        ({"action": "delete"}, [("action", "invalid_choice")]),
        ({"action": ["cancel"]}, [("action", "invalid_choice")]),
        ({"action": "cancel", "language": "en"}, [("language", "unknown_field")]),
    ],
)
def test_an_unknown_action_is_422(fields: dict[str, Any], expected: list) -> None:
    problem = problem_of(lambda: selfservice.manage_action(fields))
    assert problem.status == 422
    assert field_codes(problem) == expected


# -- unsubscribing ---------------------------------------------------------------------


def test_unsubscribing_stops_announcements_and_is_idempotent(majlis: Services) -> None:
    registration = sign_up(majlis)
    assert registration.updates is True
    unsubscribe = unsubscribe_token(majlis, registration)
    first = selfservice.unsubscribe(majlis, unsubscribe)
    assert first.registration.updates is False
    assert first.registration.email_status is EmailStatus.UNSUBSCRIBED
    again = selfservice.unsubscribe(majlis, unsubscribe)
    assert again.registration == first.registration
    after = stored(majlis, registration.registration_id)
    # Still registered, with the same links and no email owed
    assert after.status is Status.REGISTERED
    assert after.link_version == registration.link_version
    assert after.mail_seq == registration.mail_seq
    assert selfservice.manage(majlis, manage_token(majlis, registration)).registration == after


@pytest.mark.parametrize("status", [EmailStatus.BOUNCED, EmailStatus.COMPLAINED])
def test_a_bounced_or_complained_address_stays_so(majlis: Services, status: EmailStatus) -> None:
    registration = sign_up(majlis)
    majlis.registrations.set_email_status(registration.registration_id, status, majlis.clock())
    done = selfservice.unsubscribe(majlis, unsubscribe_token(majlis, registration))
    assert done.registration.updates is False
    assert done.registration.email_status is status


# -- refused links ---------------------------------------------------------------------


def _revoke(majlis: Services, registration: Registration) -> None:
    store = majlis.registrations
    store.registrations[registration.registration_id] = registration.model_copy(
        update={"link_version": registration.link_version + 1}
    )


def test_revoked_links_are_refused(majlis: Services) -> None:
    registration = sign_up(majlis, language="ur")
    links = links_of(majlis, registration)
    _revoke(majlis, registration)
    for call in (
        lambda: selfservice.manage(majlis, token(links.manage)),
        lambda: selfservice.cancel(majlis, token(links.manage)),
        lambda: selfservice.update(majlis, token(links.manage), {"language": "en"}),
        lambda: selfservice.unsubscribe(majlis, token(links.unsubscribe)),
        lambda: selfservice.unsubscribe_view(majlis, token(links.unsubscribe)),
    ):
        refused = refusal(call)
        assert (refused.reason, refused.reason.status, refused.language) == (
            Refusal.REVOKED,
            410,
            "ur",
        )
    after = stored(majlis, registration.registration_id)
    assert after.status is Status.REGISTERED and after.updates is True
    assert after.language == "ur"


def test_expired_links_are_refused(majlis: Services, clock: Clock) -> None:
    registration = sign_up(majlis)
    links = links_of(majlis, registration)
    event = majlis.events.get(EVENT_ID)
    assert event is not None
    clock.now = max(s.ends_at for s in event.sessions) + MANAGE_LIFETIME
    for call in (
        lambda: selfservice.manage(majlis, token(links.manage)),
        lambda: selfservice.cancel(majlis, token(links.manage)),
    ):
        refused = refusal(call)
        assert (refused.reason, refused.reason.status) == (Refusal.EXPIRED, 410)
    # The unsubscribe link lives much longer
    assert selfservice.unsubscribe(majlis, token(links.unsubscribe)).registration.updates is False
    assert stored(majlis, registration.registration_id).status is Status.REGISTERED


def test_a_token_for_another_purpose_is_invalid(majlis: Services) -> None:
    registration = sign_up(majlis)
    links = links_of(majlis, registration)
    join_token = token(links.join["education"])
    for call in (
        lambda: selfservice.manage(majlis, join_token),
        lambda: selfservice.cancel(majlis, join_token),
        lambda: selfservice.cancel(majlis, token(links.unsubscribe)),
        lambda: selfservice.update(majlis, token(links.unsubscribe), {"language": "en"}),
        lambda: selfservice.unsubscribe(majlis, token(links.manage)),
        lambda: selfservice.unsubscribe(majlis, join_token),
    ):
        refused = refusal(call)
        assert (refused.reason, refused.reason.status, refused.language) == (
            Refusal.INVALID,
            404,
            None,
        )
    after = stored(majlis, registration.registration_id)
    assert after == registration


@pytest.mark.parametrize(
    "mangle",
    [
        # one character inside the signature (the last one also carries unused bits)
        lambda t: t[:-5] + ("A" if t[-5] != "A" else "B") + t[-4:],
        lambda t: t[:-10],
        lambda t: "",
        lambda t: "x" * 400,
        lambda t: t.replace("~1~", "~2~"),
    ],
)
def test_a_tampered_manage_token_is_invalid(majlis: Services, mangle: Any) -> None:
    registration = sign_up(majlis)
    refused = refusal(
        lambda: selfservice.cancel(majlis, mangle(manage_token(majlis, registration)))
    )
    assert refused.reason is Refusal.INVALID
    assert stored(majlis, registration.registration_id).status is Status.REGISTERED


def test_a_token_for_an_unknown_registration_is_invalid(majlis: Services, clock: Clock) -> None:
    forged = sign(
        TEST_KEYS,
        Link(Purpose.MANAGE, "0" * 26, "", 1, clock() + timedelta(days=1)),
    )
    assert refusal(lambda: selfservice.manage(majlis, forged)).reason is Refusal.INVALID


# -- the waiting list ------------------------------------------------------------------


def test_a_cancelled_seat_goes_to_the_person_waiting(majlis: Services, clock: Clock) -> None:
    # Given one seat: A has it and B waits
    configure(majlis, capacity=1)
    first = sign_up(majlis, 1, email="a@example.org")
    second = sign_up(majlis, 2, email="b@example.org")
    assert (first.status, second.status) == (Status.REGISTERED, Status.WAITLISTED)
    # When A cancels
    clock.advance(minutes=1)
    selfservice.cancel(majlis, manage_token(majlis, first))
    assert seats(majlis) == Seats(registered=0, waitlisted=1, cancelled=1)
    # And the waiting list is filled
    assert waitlist.promote(majlis, EVENT_ID) == 1
    # Then B is registered and owed the "a place is available" email
    promoted = stored(majlis, second.registration_id)
    assert promoted.status is Status.REGISTERED
    assert promoted.mail_reason == "promoted"
    assert promoted.mail_seq == second.mail_seq + 1
    assert promoted.mail_requested_at == clock()
    assert seats(majlis) == Seats(registered=1, waitlisted=0, cancelled=1)
    # And filling again promotes nobody (B is promoted exactly once)
    assert waitlist.promote(majlis, EVENT_ID) == 0
    assert stored(majlis, second.registration_id) == promoted
    # And B's join links now work
    links = links_of(majlis, promoted)
    assert join(majlis, token(links.join["education"])).startswith("https://us06web.zoom.us/")


def test_the_waiting_list_is_first_come_first_served(majlis: Services) -> None:
    configure(majlis, capacity=2)
    holders = [sign_up(majlis, n) for n in (1, 2)]
    waiting = []
    for n in (3, 4, 5):
        time.sleep(0.002)  # registration ids sort by the millisecond
        waiting.append(sign_up(majlis, n))
    assert {w.status for w in waiting} == {Status.WAITLISTED}
    # When one seat is freed, the oldest waiting person gets it
    selfservice.cancel(majlis, manage_token(majlis, holders[0]))
    assert waitlist.promote(majlis, EVENT_ID) == 1
    statuses = [stored(majlis, w.registration_id).status for w in waiting]
    assert statuses == [Status.REGISTERED, Status.WAITLISTED, Status.WAITLISTED]
    # And when the next seat is freed, the next one
    selfservice.cancel(majlis, manage_token(majlis, holders[1]))
    assert waitlist.promote(majlis, EVENT_ID) == 1
    statuses = [stored(majlis, w.registration_id).status for w in waiting]
    assert statuses == [Status.REGISTERED, Status.REGISTERED, Status.WAITLISTED]
    assert seats(majlis) == Seats(registered=2, waitlisted=1, cancelled=2)


def test_without_a_free_seat_nobody_is_promoted(majlis: Services) -> None:
    configure(majlis, capacity=1)
    sign_up(majlis, 1)
    waiting = sign_up(majlis, 2)
    before = dict(majlis.registrations.registrations)
    assert waitlist.promote(majlis, EVENT_ID) == 0
    assert majlis.registrations.registrations == before
    assert stored(majlis, waiting.registration_id).status is Status.WAITLISTED
    assert seats(majlis) == Seats(registered=1, waitlisted=1)


def test_a_waiting_person_who_cancelled_is_skipped(majlis: Services) -> None:
    configure(majlis, capacity=1)
    holder = sign_up(majlis, 1)
    time.sleep(0.002)
    gone = sign_up(majlis, 2)
    time.sleep(0.002)
    next_one = sign_up(majlis, 3)
    selfservice.cancel(majlis, manage_token(majlis, gone))
    selfservice.cancel(majlis, manage_token(majlis, holder))
    assert waitlist.promote(majlis, EVENT_ID) == 1
    assert stored(majlis, gone.registration_id).status is Status.CANCELLED
    assert stored(majlis, next_one.registration_id).status is Status.REGISTERED


def test_raising_the_capacity_promotes_as_many_as_it_adds(majlis: Services) -> None:
    configure(majlis, capacity=1)
    for n in range(1, 5):
        time.sleep(0.002)
        sign_up(majlis, n)
    assert seats(majlis) == Seats(registered=1, waitlisted=3)
    configure(majlis, capacity=3)
    assert waitlist.promote(majlis, EVENT_ID) == 2
    assert seats(majlis) == Seats(registered=3, waitlisted=1)


def test_promoting_for_an_unknown_event_does_nothing(majlis: Services) -> None:
    assert waitlist.promote(majlis, "no-such-event") == 0


# -- the emails that follow ------------------------------------------------------------


def test_the_cancellation_email_takes_the_sessions_out_of_the_calendar(
    majlis: Services, clock: Clock
) -> None:
    # Given a confirmed registration whose confirmation was sent
    registration = sign_up(majlis, language="en", sessions=["education", "youth"])
    confirmation = sent_message(majlis, registration.registration_id)
    (invite,) = calendars(confirmation).values()
    # When they cancel, a minute later
    clock.advance(minutes=1)
    selfservice.cancel(majlis, manage_token(majlis, registration))
    message = sent_message(majlis, registration.registration_id)
    # Then the email says so, with a cancel.ics for the very same calendar entries
    assert "cancelled" in str(message["Subject"])
    found = calendars(message)
    assert set(found) == {"cancel.ics"}
    cancel = found["cancel.ics"]
    assert str(cancel["method"]) == "CANCEL"
    assert (
        uids(cancel)
        == uids(invite)
        == [
            f"{registration.registration_id}.education@majlis",
            f"{registration.registration_id}.youth@majlis",
        ]
    )
    assert {str(v["status"]) for v in cancel.walk("VEVENT")} == {"CANCELLED"}
    assert min(sequences(cancel)) > max(sequences(invite))
    # And it offers to register again, but no manage link (every link is revoked)
    text, html = text_of(message), html_of(message)
    register_again = f"{public(majlis)}/events/{EVENT_ID}/register?lang=en"
    assert register_again in text
    assert f'href="{register_again}"' in html
    for body in (text, html):
        assert "/manage/" not in body
        assert "/join/" not in body


def test_the_cancellation_of_a_waitlisted_person_has_no_calendar(majlis: Services) -> None:
    configure(majlis, capacity=0)
    waiting = sign_up(majlis, language="en")
    sent_message(majlis, waiting.registration_id)
    selfservice.cancel(majlis, manage_token(majlis, waiting))
    message = sent_message(majlis, waiting.registration_id)
    assert "cancelled" in str(message["Subject"])
    assert calendars(message) == {}


def test_the_updated_email_invites_to_the_kept_sessions_and_cancels_the_dropped(
    majlis: Services, clock: Clock
) -> None:
    # Given a confirmation for three sessions
    registration = sign_up(majlis, language="en", sessions=["education", "family", "youth"])
    (invite,) = calendars(sent_message(majlis, registration.registration_id)).values()
    rid = registration.registration_id
    # When, later, they keep education, drop family and youth, and add science
    clock.advance(hours=2)
    selfservice.update(
        majlis, manage_token(majlis, registration), {"sessions": ["education", "science"]}
    )
    message = sent_message(majlis, rid)
    # Then the email is the updated confirmation
    assert "updated" in str(message["Subject"])
    found = calendars(message)
    assert set(found) == {"invite.ics", "cancel.ics"}
    new_invite, cancel = found["invite.ics"], found["cancel.ics"]
    # invite.ics: the sessions held, under the same UIDs as before
    assert str(new_invite["method"]) == "REQUEST"
    assert uids(new_invite) == [f"{rid}.education@majlis", f"{rid}.science@majlis"]
    assert f"{rid}.education@majlis" in uids(invite)
    # cancel.ics: the sessions dropped, under the UIDs of the first invitation
    assert str(cancel["method"]) == "CANCEL"
    assert uids(cancel) == [f"{rid}.family@majlis", f"{rid}.youth@majlis"]
    assert set(uids(cancel)) <= set(uids(invite))
    # And both carry a SEQUENCE above the first confirmation's: the email's own
    current = stored(majlis, rid)
    assert sequences(new_invite) == sequences(cancel) == {sequence(current.mail_seq, 0)}
    assert min(sequences(new_invite)) > max(sequences(invite))
    # And the text lists the sessions held, with their join links and the manage link
    text = text_of(message)
    assert re.findall(r"^\* (.+)$", text, re.MULTILINE) == [
        "Education and the future",
        "Science and faith",
    ]
    assert len(re.findall(rf"{re.escape(public(majlis))}/join/\S+", text)) == 2
    assert f"{public(majlis)}/manage/" in text


def test_the_updated_email_is_in_the_new_language(majlis: Services, clock: Clock) -> None:
    registration = sign_up(majlis, language="en")
    sent_message(majlis, registration.registration_id)
    clock.advance(minutes=1)
    selfservice.update(majlis, manage_token(majlis, registration), {"language": "fr"})
    message = sent_message(majlis, registration.registration_id)
    assert message["Content-Language"] == "fr"
    assert "cancel.ics" not in calendars(message)
    assert "invite.ics" in calendars(message)


def test_the_promotion_email_is_the_confirmation_with_links(majlis: Services) -> None:
    configure(majlis, capacity=1)
    holder = sign_up(majlis, 1, language="en")
    waiting = sign_up(majlis, 2, language="en", email="b@example.org", sessions=["youth"])
    note = sent_message(majlis, waiting.registration_id)
    assert calendars(note) == {}
    selfservice.cancel(majlis, manage_token(majlis, holder))
    assert waitlist.promote(majlis, EVENT_ID) == 1
    message = sent_message(majlis, waiting.registration_id)
    assert "A place is available" in str(message["Subject"])
    assert str(message["To"]).endswith("<b@example.org>") or "b@example.org" in str(message["To"])
    text = text_of(message)
    (join_url,) = re.findall(rf"{re.escape(public(majlis))}/join/\S+", text)
    assert f"{public(majlis)}/manage/" in text
    (invite,) = calendars(message).values()
    assert uids(invite) == [f"{waiting.registration_id}.youth@majlis"]
    assert join(majlis, token(join_url)).startswith("https://us06web.zoom.us/")
    # And the email is sent once, however many times its job arrives
    job = RegistrationMail(
        registration_id=waiting.registration_id,
        seq=stored(majlis, waiting.registration_id).mail_seq,
    )
    assert send_registration_mail(majlis, job) == "duplicate"


def test_concurrent_cancellations_promote_exactly_as_many(majlis: Services) -> None:
    configure(majlis, capacity=5)
    holders = [sign_up(majlis, n) for n in range(1, 6)]
    waiting = []
    for n in range(6, 11):
        time.sleep(0.002)
        waiting.append(sign_up(majlis, n))
    tokens = [manage_token(majlis, h) for h in holders[:3]]

    def cancel(manage: str) -> str:
        try:
            return selfservice.cancel(majlis, manage).registration.status.value
        except LinkRefused as refused:
            return refused.reason.value

    # When three of them cancel at once, each from two tabs
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(cancel, tokens * 2))
    assert set(outcomes) <= {"cancelled"}  # done, or already done
    # And the waiting list is filled by three handlers at once
    with ThreadPoolExecutor(max_workers=3) as pool:
        promoted = list(pool.map(lambda _: waitlist.promote(majlis, EVENT_ID), range(3)))
    # Then exactly three are promoted: the three who waited longest
    assert sum(promoted) == 3
    statuses = [stored(majlis, w.registration_id).status for w in waiting]
    assert statuses == [Status.REGISTERED] * 3 + [Status.WAITLISTED] * 2
    assert seats(majlis) == Seats(registered=5, waitlisted=2, cancelled=3)


# -- once defects, now fixed ---------------------------------------------------------------------


def test_the_cancellation_email_carries_no_manage_or_join_link_at_all(majlis: Services) -> None:
    registration = sign_up(majlis, language="en", sessions=["education"])
    sent_message(majlis, registration.registration_id)
    selfservice.cancel(majlis, manage_token(majlis, registration))
    message = sent_message(majlis, registration.registration_id)
    (cancel,) = calendars(message).values()
    for vevent in cancel.walk("VEVENT"):
        assert "/manage/" not in str(vevent.get("description", ""))
        assert "/join/" not in str(vevent.get("description", ""))
        assert "/join/" not in str(vevent.get("url", ""))


def test_a_waitlisted_person_changing_sessions_gets_no_calendar_cancellation(
    majlis: Services,
) -> None:
    configure(majlis, capacity=0)
    waiting = sign_up(majlis, language="en", sessions=["education", "youth"])
    sent_message(majlis, waiting.registration_id)
    selfservice.update(majlis, manage_token(majlis, waiting), {"sessions": ["education"]})
    assert stored(majlis, waiting.registration_id).calendar_cancel == []
    message = sent_message(majlis, waiting.registration_id)
    assert calendars(message) == {}


def test_a_change_to_a_registration_that_changed_meanwhile_is_a_conflict(
    majlis: Services,
) -> None:
    from chalicelib.ports import Stale
    from tests.unit.support import problem_of

    registration = sign_up(majlis, language="en", sessions=["education"])

    def stale(*_: Any) -> None:
        raise Stale()

    majlis.registrations.change = stale  # type: ignore[method-assign]
    problem = problem_of(
        lambda: selfservice.update(
            majlis, manage_token(majlis, registration), {"sessions": ["family"]}
        )
    )
    assert problem.status == 409
    assert problem.document()["type"] == "urn:majlis:problem:conflict"
    assert "reload" in problem.detail


def test_resend_says_an_email_is_on_its_way_only_when_one_is(
    majlis: Services, clock: Clock
) -> None:
    someone = sign_up(majlis)
    manage = manage_token(majlis, someone)
    clock.advance(minutes=11)  # past the confirmation's resend interval
    # Given the registration cancelled between the page's read and the request
    request_mail = majlis.registrations.request_mail

    def cancelled_meanwhile(*args: Any) -> Any:
        majlis.registrations.cancel(majlis.registrations.get(someone.registration_id), clock())
        return request_mail(*args)

    majlis.registrations.request_mail = cancelled_meanwhile  # type: ignore[method-assign]
    _, resent = selfservice.resend(majlis, manage)
    # Then no email is owed, and the page does not say one is coming
    assert resent is False
    assert majlis.registrations.get(someone.registration_id).mail_reason != "resend"


def test_an_unknown_manage_action_names_the_three_there_are() -> None:
    problem = problem_of(lambda: selfservice.manage_action({"action": "delete"}))
    (error,) = problem.errors
    assert (error.field, error.code) == ("action", "invalid_choice")
    assert error.message == "The action is 'cancel', 'resend' or 'update'."
