"""When a session's reminders are due, and the id that makes each reminder once.

A reminder's id is derived from the event, the session, the offset and the session's
start, so creating it twice is a no-op and a session moved to a new time gets
reminders for its new time. When several offsets of one session are due (the schedule
was down for a while), only the nearest is sent: a reminder late by more than its
offset is skipped, not sent late.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.events import Event, Session, parse_duration, utc_text
from chalicelib.domain.ids import derived_id


def reminder_id(event_id: str, session: Session, offset: str) -> str:
    """The same reminder always has the same id (an id like every other: 26 characters)."""
    return derived_id(f"{event_id}|{session.id}|{offset}|{utc_text(session.starts_at)}")


def due(event: Event, now: datetime) -> list[tuple[Session, str]]:
    """(session, offset) of the reminders to send now: per session, the nearest due."""
    found = []
    for session in event.sessions:
        if now >= session.starts_at or session.cancelled:
            continue
        offsets = [
            text for text in event.reminders if session.starts_at - parse_duration(text) <= now
        ]
        if offsets:
            found.append((session, min(offsets, key=parse_duration)))
    return found
