"""Reminders before each session, at the event's offsets (``P1D``, ``PT1H`` …).

A schedule runs every few minutes. For each session whose reminder is due (its start
minus the offset has come, the session has not started), it creates a reminder: a
campaign to the session's registered people whose id is derived from the event, the
session, the offset and the session's start. Creating it twice is a no-op, so a run
that comes late, twice or at once with another sends each reminder once; a session
moved to a new time gets reminders for its new time. When a run finds several offsets
of one session due (it was down for a while), only the nearest is sent: a reminder
late by more than its offset is skipped, not sent late. Fan-out and sending are the
campaigns' own: one email per registrant, cancelled registrations left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.domain.campaigns import Audience, Campaign
from chalicelib.domain.registrations import Status
from chalicelib.domain.reminders import due, reminder_id
from chalicelib.ports import Services


@dataclass
class Report:
    created: list[str] = field(default_factory=list)  # "event/session/offset"
    already: int = 0  # due, and made by an earlier run


def run(services: Services) -> Report:
    report = Report()
    now = services.clock()
    for event_id in services.events.ids():
        event = services.events.get(event_id, fresh=True)
        if event is None:
            continue
        for session, offset in due(event, now):
            reminder = Campaign(
                campaign_id=reminder_id(event.id, session, offset),
                event_id=event.id,
                name=f"Reminder {offset} before {session.id}",
                audience=Audience(status=[Status.REGISTERED], sessions=[session.id]),
                content={},
                purpose="reminder",
                session_id=session.id,
                reminder=offset,
                created_at=now,
            )
            if services.campaigns.create(reminder):
                report.created.append(f"{event.id}/{session.id}/{offset}")
            else:
                report.already += 1
    return report
