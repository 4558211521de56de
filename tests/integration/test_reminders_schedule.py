"""The reminder schedule on moto: events listed once, each reminder created once, a
day's sessions reminded of together a day before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.reminders import day_reminder_id
from chalicelib.usecases import reminders
from chalicelib.usecases.events import put_event
from tests.builders import event_body

START = datetime(2027, 3, 6, 12, 0, tzinfo=UTC)  # the first day's sessions


def test_the_schedule_creates_each_due_reminder_once(aws):
    put_event(aws, "conf", event_body())  # stored again: still one event in the index
    assert aws.events.ids() == ["conf"]
    event = aws.events.get("conf")
    aws.clock.now = START - timedelta(hours=20)
    # The first day's sessions (in the event's zone): one reminder of the day for all
    day = START.astimezone(ZoneInfo(event.timezone)).date()
    first_day = [
        s.id
        for s in event.sessions
        if s.starts_at.astimezone(ZoneInfo(event.timezone)).date() == day
    ]
    assert len(first_day) > 1
    first = reminders.run(aws)
    second = reminders.run(aws)
    assert first.created == [f"conf/{day.isoformat()}/P1D"]
    assert (second.created, second.already) == ([], 1)
    made = aws.campaigns.get(day_reminder_id("conf", day, "P1D"))
    assert made is not None and made.purpose == "reminder" and made.reminder == "P1D"
    assert sorted(made.audience.sessions) == sorted(first_day) and made.session_id is None
    # An hour before the first session, its own reminder
    aws.clock.now = START - timedelta(minutes=50)
    first_session = min(first_day, key=lambda s: event.session(s).starts_at)
    assert reminders.run(aws).created == [f"conf/{first_session}/PT1H"]
