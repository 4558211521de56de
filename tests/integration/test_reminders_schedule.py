"""The reminder schedule on moto: events listed once, each reminder created once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.usecases import reminders
from chalicelib.usecases.events import put_event
from tests.builders import event_body

START = datetime(2027, 3, 6, 12, 0, tzinfo=UTC)  # the first day's sessions


def test_the_schedule_creates_each_due_reminder_once(aws):
    put_event(aws, "conf", event_body())  # stored again: still one event in the index
    assert aws.events.ids() == ["conf"]
    event = aws.events.get("conf")
    aws.clock.now = START - timedelta(hours=20)
    # The first day's sessions whose day-before reminder has come (several at once)
    first_day = [
        s.id
        for s in event.sessions
        if s.starts_at - timedelta(days=1) <= aws.clock.now < s.starts_at
    ]
    assert len(first_day) > 1
    first = reminders.run(aws)
    second = reminders.run(aws)
    assert first.created == [f"conf/{session}/P1D" for session in first_day]
    assert (second.created, second.already) == ([], len(first_day))
    made = aws.campaigns.get(reminders.reminder_id("conf", event.session(first_day[0]), "P1D"))
    assert made is not None and made.purpose == "reminder" and made.reminder == "P1D"
    assert made.audience.sessions == [first_day[0]]
