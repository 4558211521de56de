"""Reminders: at the event's offsets before each session, once, following the session.

The first session ("education") starts 2027-03-06 14:00 Jerusalem (12:00 UTC); the
event's reminders are P1D and PT1H.
"""

from __future__ import annotations

import email
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import policy
from typing import Any

from chalicelib.domain.registrations import EmailStatus
from chalicelib.jobs import CampaignMail
from chalicelib.ports import Services
from chalicelib.usecases import campaigns, reminders
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import send_campaign_mail
from tests.builders import event_body, person
from tests.fakes import Clock
from tests.unit.support import EVENT_ID, configure

START = datetime(2027, 3, 6, 12, 0, tzinfo=UTC)  # "education"


def _one_session(majlis: Services, starts_at: datetime = START) -> None:
    """The event with only "education" (fewer reminders to follow in each test)."""
    body = event_body()
    session = body["sessions"][0]
    session.update(
        starts_at=starts_at.isoformat().replace("+00:00", "Z"),
        ends_at=(starts_at + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
    )
    configure(majlis, sessions=[session], registration={"opens_at": "2027-02-01T00:00:00Z"})


def _people(majlis: Services, specs: list[dict[str, Any]]) -> list[str]:
    return [
        register(
            majlis, EVENT_ID, person(n, sessions=["education"], **spec), form=False
        ).registration_id
        for n, spec in enumerate(specs)
    ]


def _deliver(majlis: Services) -> None:
    """What the campaign queue and the mail worker do with what the schedule made."""
    for campaign_id in list(majlis.campaigns.campaigns):
        campaigns.fan_out(majlis, campaign_id, lambda: 900)
    while majlis.mail_queue.jobs:
        send_campaign_mail(majlis, CampaignMail.model_validate(majlis.mail_queue.jobs.pop(0)))


def _received(majlis: Services) -> Counter[str]:
    return Counter(sent["recipient"] for sent in majlis.mailer.sent)


def test_nothing_before_the_first_offset(majlis, clock: Clock):
    _one_session(majlis)
    clock.now = START - timedelta(days=1, minutes=5)
    assert reminders.run(majlis).created == []


def test_the_schedule_running_twice_sends_each_reminder_once(majlis, clock: Clock):
    _one_session(majlis)
    _people(majlis, [{"language": "ur"}, {"language": "ar"}])
    clock.now = START - timedelta(hours=23)
    first = reminders.run(majlis)
    second = reminders.run(majlis)
    assert first.created == [f"{EVENT_ID}/2027-03-06/P1D"]  # its day, in Jerusalem
    assert (second.created, second.already) == ([], 1)
    _deliver(majlis)
    _deliver(majlis)
    assert _received(majlis) == {"person0@example.org": 1, "person1@example.org": 1}
    # An hour before: the second reminder, once.
    clock.now = START - timedelta(minutes=50)
    assert reminders.run(majlis).created == [f"{EVENT_ID}/education/PT1H"]
    _deliver(majlis)
    assert _received(majlis) == {"person0@example.org": 2, "person1@example.org": 2}


def test_a_late_run_sends_only_the_nearest_reminder_and_never_after_the_start(majlis, clock: Clock):
    _one_session(majlis)
    _people(majlis, [{"language": "en"}])
    clock.now = START - timedelta(minutes=30)  # down since before the P1D reminder
    assert reminders.run(majlis).created == [f"{EVENT_ID}/education/PT1H"]
    clock.now = START + timedelta(minutes=1)  # the session has started: nothing late
    assert reminders.run(majlis).created == []
    _deliver(majlis)
    assert _received(majlis) == {"person0@example.org": 1}


def test_a_moved_session_gets_reminders_for_its_new_time(majlis, clock: Clock):
    _one_session(majlis)
    _people(majlis, [{"language": "en"}])
    clock.now = START - timedelta(hours=20)
    assert reminders.run(majlis).created == [f"{EVENT_ID}/2027-03-06/P1D"]
    _deliver(majlis)
    # The organisers move the session two days later.
    moved = START + timedelta(days=2)
    _one_session(majlis, moved)
    clock.now = START - timedelta(minutes=30)  # the old time: no reminder for it now
    assert reminders.run(majlis).created == []
    clock.now = moved - timedelta(hours=20)
    assert reminders.run(majlis).created == [f"{EVENT_ID}/2027-03-08/P1D"]
    _deliver(majlis)
    assert _received(majlis) == {"person0@example.org": 2}
    (_, latest) = (m for m in majlis.mailer.sent)
    text = email.message_from_bytes(latest["raw"], policy=policy.default)
    body = text.get_body(("plain",)).get_content()
    assert "8 March 2027" in body or "March 8, 2027" in body  # the new day


def test_a_cancelled_registrant_gets_no_reminder(majlis, clock: Clock):
    _one_session(majlis)
    ids = _people(majlis, [{"language": "en"}, {"language": "en"}])
    clock.now = START - timedelta(hours=20)
    reminders.run(majlis)
    campaign_id = next(iter(majlis.campaigns.campaigns))
    campaigns.fan_out(majlis, campaign_id, lambda: 900)
    # Cancelled after the fan-out, before the send: still nothing.
    majlis.registrations.cancel(majlis.registrations.get(ids[0]), clock())
    while majlis.mail_queue.jobs:
        send_campaign_mail(majlis, CampaignMail.model_validate(majlis.mail_queue.jobs.pop(0)))
    assert _received(majlis) == {"person1@example.org": 1}


def test_the_reminder_is_theirs_in_their_language_zone_and_link(majlis, clock: Clock):
    _one_session(majlis)
    ids = _people(
        majlis,
        [
            {"language": "ur", "timezone": "Asia/Karachi", "first_name": "Ayesha"},
            {"language": "en", "updates": False},  # no announcements; reminders still
            {"language": "en"},  # bounced: nothing
        ],
    )
    majlis.registrations.set_email_status(ids[2], EmailStatus.BOUNCED, clock())
    clock.now = START - timedelta(minutes=45)
    reminders.run(majlis)
    _deliver(majlis)
    assert _received(majlis) == {"person0@example.org": 1, "person1@example.org": 1}
    urdu = next(s for s in majlis.mailer.sent if s["recipient"] == "person0@example.org")
    message = email.message_from_bytes(urdu["raw"], policy=policy.default)
    assert str(message["Subject"]).startswith("یاد دہانی:")
    assert message["Content-Language"] == "ur"
    assert message["List-Unsubscribe"] is None  # about their own session, not a mailing
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert 'dir="rtl"' in html and "Ayesha" in text
    assert text.count("/join/") == 1  # the one session, with their own link
    assert "17:00" in text  # 12:00 UTC is 17:00 in Karachi


def test_a_day_s_sessions_are_one_reminder_listing_each_reader_s_own(majlis, clock: Clock):
    """Four sessions on the first day: a day before the first, one email each, with the
    reader's sessions of the day (and only those), in their zone; an hour before each
    session, its own reminder."""
    configure(majlis, registration={"opens_at": "2027-02-01T00:00:00Z"})
    event = majlis.events.get(EVENT_ID)
    day_one = [s.id for s in event.sessions if s.starts_at.date() == START.date()]
    assert len(day_one) == 4
    both, one = day_one[0], day_one[2]
    ids = [
        register(
            majlis, EVENT_ID, person(0, sessions=[both, day_one[1]], language="fr"), form=False
        ).registration_id,
        register(
            majlis,
            EVENT_ID,
            person(1, sessions=[one, "media"], language="en", timezone="Asia/Karachi"),
            form=False,
        ).registration_id,
    ]
    assert len(ids) == 2
    clock.now = START - timedelta(hours=23)
    assert reminders.run(majlis).created == [f"{EVENT_ID}/2027-03-06/P1D"]
    _deliver(majlis)
    assert _received(majlis) == {"person0@example.org": 1, "person1@example.org": 1}
    mails = {
        sent["recipient"]: email.message_from_bytes(sent["raw"], policy=policy.default)
        for sent in majlis.mailer.sent
    }
    french, other = mails["person0@example.org"], mails["person1@example.org"]
    assert str(french["Subject"]).startswith("Rappel : vos sessions — ")
    text = french.get_body(("plain",)).get_content()
    assert text.count("/join/") == 2 and "Vos sessions de" in text
    single = other.get_body(("plain",)).get_content()
    assert single.count("/join/") == 1  # their day-one session; "media" is another day's
    title = event.session(one).title_in("en", event.default_language)
    assert str(other["Subject"]).startswith(f"Reminder: {title} — ")
    # An hour before the second session: its own reminder, to its own people; and the
    # second day's, a day before that day's first session.
    clock.now = event.session(day_one[1]).starts_at - timedelta(minutes=50)
    assert reminders.run(majlis).created == [
        f"{EVENT_ID}/{day_one[1]}/PT1H",
        f"{EVENT_ID}/2027-03-07/P1D",
    ]
    _deliver(majlis)
    assert _received(majlis) == {"person0@example.org": 2, "person1@example.org": 2}
