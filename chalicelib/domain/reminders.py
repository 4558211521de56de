"""When reminders are due, and the id that makes each reminder once.

An offset of an hour or so (``PT1H``) reminds of one session, at that offset before it.
An offset of a day or more (``P1D``) reminds of a day: one email for each person
listing their sessions of that day (the event's day, in its own zone), at that offset
before the day's first session, rather than one email per session at once.

A reminder's id is derived from the event, the offset and what it is about: a
session's reminder from the session and its start, so a session moved to a new time
gets reminders for its new time; a day's from the day, so it is sent once (a session
moved or added to a day whose reminder has gone gets the day's programme-change
notice, and its own hour reminder). Creating it twice is a no-op. When several offsets
are due for a session (the schedule was down for a while), only the nearest is sent: a
reminder late by more than its offset is skipped, not sent late.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.events import Event, Session, parse_duration, utc_text
from chalicelib.domain.ids import derived_id

DAY = timedelta(days=1)


def reminder_id(event_id: str, session: Session, offset: str) -> str:
    """The same reminder always has the same id (an id like every other: 26 characters)."""
    return derived_id(f"{event_id}|{session.id}|{offset}|{utc_text(session.starts_at)}")


def day_reminder_id(event_id: str, day: date, offset: str) -> str:
    """A day's reminder at an offset: once per event, day and offset."""
    return derived_id(f"{event_id}|day|{day.isoformat()}|{offset}")


@dataclass(frozen=True)
class Due:
    """A reminder to send now: of one session, or of one day's sessions."""

    offset: str
    sessions: tuple[Session, ...]
    day: date | None = None  # a day's reminder

    def id(self, event_id: str) -> str:
        if self.day is not None:
            return day_reminder_id(event_id, self.day, self.offset)
        return reminder_id(event_id, self.sessions[0], self.offset)

    @property
    def about(self) -> str:
        """What it reminds of: a session's id, or a day (``2027-03-06``)."""
        return self.day.isoformat() if self.day is not None else self.sessions[0].id


def due(event: Event, now: datetime) -> list[Due]:
    """The reminders to send now: per session, the nearest offset due. A day's offset is
    due for every session of the day once it is due for the day's first session still
    to come; those sessions are reminded of together."""
    zone = ZoneInfo(event.timezone)
    coming = sorted(
        (s for s in event.sessions if now < s.starts_at and not s.cancelled),
        key=lambda s: s.starts_at,
    )
    first_of_day: dict[date, datetime] = {}
    for session in coming:
        first_of_day.setdefault(session.starts_at.astimezone(zone).date(), session.starts_at)
    found: list[Due] = []
    days: dict[tuple[date, str], list[Session]] = defaultdict(list)
    for session in coming:
        day = session.starts_at.astimezone(zone).date()
        offsets = []
        for text in event.reminders:
            length = parse_duration(text)
            reference = first_of_day[day] if length >= DAY else session.starts_at
            if reference - length <= now:
                offsets.append(text)
        if not offsets:
            continue
        nearest = min(offsets, key=parse_duration)
        if parse_duration(nearest) >= DAY:
            days[day, nearest].append(session)
        else:
            found.append(Due(nearest, (session,)))
    found.extend(Due(offset, tuple(sessions), day) for (day, offset), sessions in days.items())
    return found
