"""When organisers change the programme, every registrant it concerns is told once.

On fakes: ``put_event`` stores the event with the notice of its change; the fan-out and
the mail worker run here as they run from the queues. Registrants in the 7 languages
and several zones hold different sessions; each checks what their email says (old and
new times in their zone), their calendar (same UIDs, a higher SEQUENCE, CRLF lines,
``METHOD:CANCEL`` for a session that will not take place), and that nobody else heard
a thing, however often the PUT is sent.
"""

from __future__ import annotations

import copy
import email
from collections import Counter
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar

from chalicelib.domain.programme import notice_id
from chalicelib.jobs import CampaignMail, RegistrationMail
from chalicelib.ports import Services
from chalicelib.usecases import campaigns, reminders
from chalicelib.usecases.events import put_event
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import send_campaign_mail, send_registration_mail
from tests.builders import event_body, person
from tests.unit.support import EVENT_ID, problem_of

THIN = "\u2009"
# (language, zone, sessions): people across the languages, zones and sessions.
PEOPLE = [
    ("ar", "Asia/Jerusalem", ["education", "family"]),
    ("en", "America/Los_Angeles", ["education"]),
    ("tr", "Europe/Istanbul", ["education", "youth"]),
    ("fr", "Europe/Paris", ["family"]),
    ("es", "America/Mexico_City", ["education", "science"]),
    ("ur", "Asia/Karachi", ["education"]),
    ("ms", "Asia/Kuala_Lumpur", ["youth"]),
]


@pytest.fixture
def body() -> dict[str, Any]:
    return event_body()


@pytest.fixture
def people(majlis: Services, body: dict[str, Any]) -> dict[str, str]:
    """Registration id by language, each confirmed (their first calendar sent)."""
    put_event(majlis, EVENT_ID, body)
    found = {}
    for n, (language, zone, sessions) in enumerate(PEOPLE):
        done = register(
            majlis,
            EVENT_ID,
            person(n, language=language, timezone=zone, sessions=sessions),
            form=False,
        )
        assert (
            send_registration_mail(
                majlis, RegistrationMail(registration_id=done.registration_id, seq=1)
            )
            == "sent"
        )
        found[language] = done.registration_id
    majlis.mailer.sent.clear()
    return found


def _changed(body: dict[str, Any], session_id: str, **changes: Any) -> dict[str, Any]:
    new = copy.deepcopy(body)
    for session in new["sessions"]:
        if session["id"] == session_id:
            session.update(changes)
    return new


def _closing(**fields: Any) -> dict[str, Any]:
    """A session added on the second evening."""
    return {
        "id": "closing",
        "title": {"ar": "الختام", "en": "Closing"},
        "starts_at": "2027-03-07T20:00:00Z",
        "ends_at": "2027-03-07T21:00:00Z",
        **fields,
    }


def _deliver(majlis: Services, revision: int) -> None:
    """The stream's fan-out of the notice, then the mail worker."""
    outcome = campaigns.fan_out(majlis, notice_id(EVENT_ID, revision), lambda: 900)
    assert outcome.outcome in ("queued", "stopped")
    while majlis.mail_queue.jobs:
        send_campaign_mail(majlis, CampaignMail.model_validate(majlis.mail_queue.jobs.pop(0)))


def _mail(majlis: Services) -> dict[str, list[EmailMessage]]:
    """Each registration's emails since the last clear."""
    found: dict[str, list[EmailMessage]] = {}
    for sent in majlis.mailer.sent:
        found.setdefault(sent["tags"]["registration"], []).append(
            email.message_from_bytes(sent["raw"], policy=policy.default)
        )
    return found


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def _calendars(message: EmailMessage) -> dict[str, bytes]:
    return {
        part.get_filename(): part.get_payload(decode=True)
        for part in message.iter_attachments()
        if part.get_content_type() == "text/calendar"
    }


def _crlf_only(data: bytes) -> bool:
    return b"\n" not in data.replace(b"\r\n", b"")


def _first_calendar(majlis: Services, registration_id: str) -> Calendar:
    """The calendar of the registration's confirmation (sent again, as it was)."""
    current = majlis.registrations.get(registration_id)
    assert current is not None
    from chalicelib.mail.render import registration_mail
    from chalicelib.signed_links import registration_links

    event = majlis.events.get(EVENT_ID)
    links = registration_links(majlis.keys.keys(), "https://x.example", event, current)
    rendered = registration_mail(event, current, links, majlis.clock())
    return Calendar.from_ical(rendered.calendar)


def test_moving_a_session_tells_its_registrants_once_with_old_and_new_times(
    majlis: Services, body: dict[str, Any], people: dict[str, str]
) -> None:
    before = {lang: _first_calendar(majlis, rid) for lang, rid in people.items()}
    # When education moves by 30 minutes
    moved = _changed(
        body, "education", starts_at="2027-03-06T12:30:00Z", ends_at="2027-03-06T14:30:00Z"
    )
    saved = put_event(majlis, EVENT_ID, moved)
    holders = {lang for lang, _, sessions in PEOPLE if "education" in sessions}
    assert saved.view()["notifying"] == len(holders) == 5
    _deliver(majlis, saved.event.revision)
    mail = _mail(majlis)
    # Then each holder gets exactly one email, nobody else any
    assert {lang for lang, rid in people.items() if rid in mail} == holders
    assert all(len(mail[people[lang]]) == 1 for lang in holders)
    # In English, from Los Angeles: old and new times in their zone
    (english,) = mail[people["en"]]
    text = _text(english)
    assert "Programme change" in str(english["Subject"])
    assert f"04:30{THIN}–{THIN}06:30" in text and f"04:00{THIN}–{THIN}06:00" in text
    assert "(it was Saturday, March 6, 2027, 04:00" in text
    # In Urdu, from Karachi (base64 parts), the calendar carries CRLF line ends
    for lang in holders:
        (message,) = mail[people[lang]]
        found = _calendars(message)
        assert set(found) == {"invite.ics"}, lang
        assert _crlf_only(found["invite.ics"]), lang
        assert _crlf_only(message.get_body(("plain",)).get_payload(decode=True)), lang
        calendar = Calendar.from_ical(found["invite.ics"])
        (entry,) = calendar.walk("VEVENT")
        (old,) = [e for e in before[lang].walk("VEVENT") if "education" in str(e["uid"])]
        assert str(entry["uid"]) == str(old["uid"])
        assert int(entry["sequence"]) > int(old["sequence"])
        assert entry.decoded("dtstart").isoformat() == "2027-03-06T12:30:00+00:00"


def test_the_same_put_again_tells_nobody_anything(
    majlis: Services, body: dict[str, Any], people: dict[str, str]
) -> None:
    moved = _changed(
        body, "family", starts_at="2027-03-06T14:30:00Z", ends_at="2027-03-06T16:00:00Z"
    )
    first = put_event(majlis, EVENT_ID, moved)
    again = put_event(majlis, EVENT_ID, copy.deepcopy(moved))
    assert (first.notifying, again.notifying) == (2, 0)
    assert again.event.revision == first.event.revision
    _deliver(majlis, first.event.revision)
    _deliver(majlis, first.event.revision)  # the stream delivering the notice twice
    assert Counter(s["tags"]["registration"] for s in majlis.mailer.sent) == {
        people["ar"]: 1,
        people["fr"]: 1,
    }


def test_a_put_that_changes_nothing_material_sends_nothing(
    majlis: Services, body: dict[str, Any], people: dict[str, str]
) -> None:
    saved = put_event(majlis, EVENT_ID, {**body, "capacity": 4000, "reminders": ["P1D"]})
    assert saved.notifying == 0
    assert majlis.campaigns.campaigns == {}


def test_two_puts_racing_tell_each_person_once(
    majlis: Services, body: dict[str, Any], people: dict[str, str]
) -> None:
    moved = _changed(
        body, "youth", starts_at="2027-03-06T16:30:00Z", ends_at="2027-03-06T18:00:00Z"
    )
    store = majlis.events
    real_save = store.save
    raced: list[Any] = []

    def save_after_another(*args: Any) -> bool:
        if not raced:  # another PUT of the same change saves first
            raced.append(None)
            raced[0] = put_event(majlis, EVENT_ID, copy.deepcopy(moved))
        return real_save(*args)

    store.save = save_after_another  # type: ignore[method-assign]
    mine = put_event(majlis, EVENT_ID, moved)
    store.save = real_save  # type: ignore[method-assign]
    assert raced[0].notifying == 2 and mine.notifying == 0
    assert len(majlis.campaigns.campaigns) == 1
    _deliver(majlis, raced[0].event.revision)
    assert sorted(s["tags"]["registration"] for s in majlis.mailer.sent) == sorted(
        [people["tr"], people["ms"]]
    )


def test_retitling_says_the_old_title(
    majlis: Services, body: dict[str, Any], people: dict[str, str]
) -> None:
    title = {"ar": "العلم والإيمان اليوم", "en": "Science and faith today"}
    saved = put_event(majlis, EVENT_ID, _changed(body, "science", title=title))
    _deliver(majlis, saved.event.revision)
    mail = _mail(majlis)
    assert set(mail) == {people["es"]}
    (message,) = mail[people["es"]]
    calendar = Calendar.from_ical(_calendars(message)["invite.ics"])
    (entry,) = calendar.walk("VEVENT")
    assert str(entry["summary"]).startswith("العلم والإيمان اليوم")  # es falls back to ar


def test_cancelling_a_session_cancels_its_calendar_entries_and_its_join_links(
    majlis: Services, body: dict[str, Any], people: dict[str, str]
) -> None:
    from chalicelib.signed_links import registration_links
    from chalicelib.usecases.access import LinkRefused, Refusal, join

    saved = put_event(majlis, EVENT_ID, _changed(body, "family", status="cancelled"))
    assert saved.notifying == 2
    assert majlis.events.get(EVENT_ID).session("family").cancelled  # kept, as cancelled
    _deliver(majlis, saved.event.revision)
    mail = _mail(majlis)
    assert set(mail) == {people["ar"], people["fr"]}
    (message,) = mail[people["fr"]]
    found = _calendars(message)
    assert set(found) == {"cancel.ics"}
    cancel = Calendar.from_ical(found["cancel.ics"])
    assert str(cancel["method"]) == "CANCEL"
    (entry,) = cancel.walk("VEVENT")
    assert str(entry["uid"]).endswith(".family@majlis")
    assert str(entry["status"]) == "CANCELLED"
    assert b"DESCRIPTION:\r\n" not in found["cancel.ics"] and b"URL:\r\n" not in found["cancel.ics"]
    # And the session's join link now says it is cancelled
    registration = majlis.registrations.get(people["fr"])
    links = registration_links(majlis.keys.keys(), "https://x.example", saved.event, registration)
    with pytest.raises(LinkRefused) as refused:
        join(majlis, links.join["family"].rsplit("/", 1)[1])
    assert refused.value.reason is Refusal.SESSION_CANCELLED
    # And nobody may choose it any more
    problem = problem_of(
        lambda: register(majlis, EVENT_ID, person(50, sessions=["family"]), form=False)
    )
    assert [(e.field, e.code) for e in problem.errors] == [("sessions", "cancelled_session")]


def test_adding_a_session_tells_everyone_active(
    majlis: Services, body: dict[str, Any], people: dict[str, str]
) -> None:
    new = copy.deepcopy(body)
    new["sessions"].append(_closing())
    saved = put_event(majlis, EVENT_ID, new)
    assert saved.notifying == len(PEOPLE)
    _deliver(majlis, saved.event.revision)
    mail = _mail(majlis)
    assert set(mail) == set(people.values())
    (english,) = mail[people["en"]]
    assert "Closing" in _text(english) and "add it on your registration page" in _text(english)
    assert _calendars(english) == {}  # nothing in their calendar changes


def test_removing_a_session_cancels_it_for_its_holders(
    majlis: Services, body: dict[str, Any], people: dict[str, str]
) -> None:
    new = copy.deepcopy(body)
    new["sessions"] = [s for s in new["sessions"] if s["id"] != "youth"]
    saved = put_event(majlis, EVENT_ID, new)
    _deliver(majlis, saved.event.revision)
    mail = _mail(majlis)
    assert set(mail) == {people["tr"], people["ms"]}
    (message,) = mail[people["ms"]]
    cancel = Calendar.from_ical(_calendars(message)["cancel.ics"])
    (entry,) = cancel.walk("VEVENT")
    assert str(entry["uid"]).endswith(".youth@majlis")


def test_a_dry_run_says_how_many_without_saving(
    majlis: Services, body: dict[str, Any], people: dict[str, str]
) -> None:
    moved = _changed(
        body, "education", starts_at="2027-03-06T13:00:00Z", ends_at="2027-03-06T15:00:00Z"
    )
    checked = put_event(majlis, EVENT_ID, moved, dry_run=True)
    assert checked.view()["notifying"] == 5 and checked.view()["dry_run"] is True
    assert majlis.campaigns.campaigns == {}
    assert majlis.events.get(EVENT_ID).session("education").starts_at.hour == 12


def test_a_waitlisted_person_is_told_without_calendar_or_links(
    majlis: Services, body: dict[str, Any]
) -> None:
    put_event(majlis, EVENT_ID, {**body, "capacity": 0})
    waiting = register(
        majlis, EVENT_ID, person(1, language="en", sessions=["education"]), form=False
    )
    moved = _changed(
        {**body, "capacity": 0},
        "education",
        starts_at="2027-03-06T12:30:00Z",
        ends_at="2027-03-06T14:30:00Z",
    )
    saved = put_event(majlis, EVENT_ID, moved)
    _deliver(majlis, saved.event.revision)
    (message,) = _mail(majlis)[waiting.registration_id]
    assert _calendars(message) == {}
    assert "/join/" not in _text(message)
    assert "waiting list" in _text(message)


def test_reminders_follow_a_session_moved_after_the_first_reminder(
    majlis: Services, body: dict[str, Any], people: dict[str, str], clock: Any
) -> None:
    start = majlis.events.get(EVENT_ID).session("education").starts_at
    # Given the P1D reminder of education's day sent for its first time
    clock.now = start - timedelta(hours=23)
    first = reminders.run(majlis)
    assert f"{EVENT_ID}/2027-03-06/P1D" in first.created
    # When education moves two hours later
    moved = _changed(
        body, "education", starts_at="2027-03-06T14:00:00Z", ends_at="2027-03-06T16:00:00Z"
    )
    moved = _changed(
        moved, "family", starts_at="2027-03-06T16:00:00Z", ends_at="2027-03-06T18:00:00Z"
    )
    moved = _changed(
        moved, "youth", starts_at="2027-03-06T18:00:00Z", ends_at="2027-03-06T20:00:00Z"
    )
    moved = _changed(
        moved, "science", starts_at="2027-03-06T20:00:00Z", ends_at="2027-03-06T22:00:00Z"
    )
    put_event(majlis, EVENT_ID, moved)
    # Then an hour before the old start nothing is due for it any more
    clock.now = start - timedelta(hours=1)
    assert not [c for c in reminders.run(majlis).created if "/education/PT1H" in c]
    # And an hour before the new start, its PT1H reminder is
    clock.now = start + timedelta(hours=1)
    assert f"{EVENT_ID}/education/PT1H" in reminders.run(majlis).created


def test_a_session_added_already_cancelled_tells_nobody(
    majlis: Services, body: dict[str, Any], people: dict[str, str]
) -> None:
    new = copy.deepcopy(body)
    new["sessions"].append(_closing(status="cancelled"))
    saved = put_event(majlis, EVENT_ID, new)
    assert saved.notifying == 0
    assert majlis.campaigns.campaigns == {}
    assert majlis.events.get(EVENT_ID).session("closing").cancelled


def test_someone_registered_after_the_change_is_not_told_of_it(
    majlis: Services, body: dict[str, Any], people: dict[str, str], clock: Any
) -> None:
    # Given a move saved, its notice not yet fanned out
    moved = _changed(
        body, "education", starts_at="2027-03-06T13:00:00Z", ends_at="2027-03-06T15:00:00Z"
    )
    saved = put_event(majlis, EVENT_ID, moved)
    # When someone registers 10 s later (a container may still hold the event as it was
    # for its cache's 30 s: their confirmation may show the old time), and someone else
    # a minute later
    clock.now = clock.now + timedelta(seconds=10)
    soon = register(majlis, EVENT_ID, person(40, language="en", sessions=["education"]), form=False)
    clock.now = clock.now + timedelta(minutes=1)
    late = register(majlis, EVENT_ID, person(41, language="en", sessions=["education"]), form=False)
    _deliver(majlis, saved.event.revision)
    # Then those registered before the cache could hold the old programme hear of it,
    # and the one confirmed with the new time does not
    mail = _mail(majlis)
    assert late.registration_id not in mail
    assert set(mail) == {
        soon.registration_id,
        *(people[language] for language in ("ar", "en", "tr", "es", "ur")),
    }


def test_a_notice_delivered_after_a_later_one_carries_a_lower_sequence(
    majlis: Services, body: dict[str, Any], people: dict[str, str]
) -> None:
    # Given education moved twice, the second notice delivered first
    first = put_event(
        majlis,
        EVENT_ID,
        _changed(
            body, "education", starts_at="2027-03-06T13:00:00Z", ends_at="2027-03-06T15:00:00Z"
        ),
    )
    second = put_event(
        majlis,
        EVENT_ID,
        _changed(
            body, "education", starts_at="2027-03-06T14:00:00Z", ends_at="2027-03-06T16:00:00Z"
        ),
    )
    _deliver(majlis, second.event.revision)
    (later,) = _mail(majlis)[people["en"]]
    majlis.mailer.sent.clear()
    _deliver(majlis, first.event.revision)
    (earlier,) = _mail(majlis)[people["en"]]

    def entry(message: EmailMessage) -> Any:
        (found,) = Calendar.from_ical(_calendars(message)["invite.ics"]).walk("VEVENT")
        return found

    # Then calendars keep the later time: the older notice's entry has a lower SEQUENCE
    assert entry(later)["uid"] == entry(earlier)["uid"]
    assert entry(earlier)["sequence"] < entry(later)["sequence"]
    assert entry(later).decoded("dtstart").hour == 14
