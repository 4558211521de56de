"""Reminders at the event's offsets (``P1D``, ``PT1H`` …), before each session or day.

A schedule runs every few minutes. For each reminder due (domain/reminders.py: an
hour's offset before a session, a day's before the day's first session), it creates a
campaign to the registered people of the session, or of any of the day's sessions,
whose id is derived from what it reminds of. Creating it twice is a no-op, so a run
that comes late, twice or at once with another sends each reminder once; a session
moved to a new time gets reminders for its new time. When a run finds several offsets
of one session due (it was down for a while), only the nearest is sent: a reminder
late by more than its offset is skipped, not sent late. Fan-out and sending are the
campaigns' own: one email per registrant, cancelled registrations left out; a day's
reminder lists the reader's own sessions of the day.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.domain.campaigns import Audience, Campaign
from chalicelib.domain.registrations import Status
from chalicelib.domain.reminders import due
from chalicelib.ports import Services


@dataclass
class Report:
    created: list[str] = field(default_factory=list)  # "event/session or day/offset"
    already: int = 0  # due, and made by an earlier run


def run(services: Services) -> Report:
    report = Report()
    now = services.clock()
    for event_id in services.events.ids():
        event = services.events.get(event_id, fresh=True)
        if event is None:
            continue
        for reminder in due(event, now):
            sessions = [session.id for session in reminder.sessions]
            campaign = Campaign(
                campaign_id=reminder.id(event.id),
                event_id=event.id,
                name=f"Reminder {reminder.offset} before {reminder.about}",
                audience=Audience(status=[Status.REGISTERED], sessions=sessions),
                content={},
                purpose="reminder",
                session_id=None if reminder.day else sessions[0],
                reminder=reminder.offset,
                created_at=now,
            )
            key = f"{event.id}/{reminder.about}/{reminder.offset}"
            if services.campaigns.create(campaign):
                report.created.append(key)
            else:
                report.already += 1
    return report
