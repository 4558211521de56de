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

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.bootstrap import Majlis
from chalicelib.domain.campaigns import Audience, Campaign
from chalicelib.domain.events import Event, Session, parse_duration, utc_text
from chalicelib.domain.ids import ID_PATTERN
from chalicelib.domain.registrations import Status

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


@dataclass
class Report:
    created: list[str] = field(default_factory=list)  # "event/session/offset"
    already: int = 0  # due, and made by an earlier run


def reminder_id(event_id: str, session: Session, offset: str) -> str:
    """The same reminder always has the same id (an id like every other: 26 characters)."""
    key = f"{event_id}|{session.id}|{offset}|{utc_text(session.starts_at)}"
    value = int.from_bytes(hashlib.sha256(key.encode()).digest()[:17], "big")
    chars = [_ALPHABET[(value >> (5 * i)) & 31] for i in range(26)]
    found = "".join(reversed(chars))
    assert ID_PATTERN.fullmatch(found)
    return found


def due(event: Event, now: datetime) -> list[tuple[Session, str]]:
    """(session, offset) of the reminders to send now: per session, the nearest due."""
    found = []
    for session in event.sessions:
        if now >= session.starts_at:
            continue
        offsets = [
            text for text in event.reminders if session.starts_at - parse_duration(text) <= now
        ]
        if offsets:
            found.append((session, min(offsets, key=parse_duration)))
    return found


def run(majlis: Majlis) -> Report:
    report = Report()
    now = majlis.clock()
    for event_id in majlis.events.ids():
        event = majlis.events.get(event_id, fresh=True)
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
            if majlis.campaigns.create(reminder):
                report.created.append(f"{event.id}/{session.id}/{offset}")
            else:
                report.already += 1
    return report
