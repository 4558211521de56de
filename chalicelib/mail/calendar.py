"""The calendar file sent with each confirmation: one VEVENT per chosen session (iTIP).

Times are UTC. A VEVENT's UID is stable per registration and session, so a later email
updates the same calendar entry; SEQUENCE is the minutes since 2024 at sending time, so
it rises with every email and the newest always wins (a moved session, changed
sessions, a cancellation). Sessions dropped from a registration are sent with
``METHOD:CANCEL`` in their own calendar object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar
from icalendar import Event as VEvent
from icalendar.prop import vCalAddress, vText

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CalendarSession:
    session_id: str
    summary: str
    description: str
    starts_at: datetime
    ends_at: datetime
    url: str


def uid(registration_id: str, session_id: str) -> str:
    return f"{registration_id}.{session_id}@majlis"


def sequence(now: datetime) -> int:
    return int((now - _EPOCH).total_seconds() // 60)


def invitation(
    *,
    registration_id: str,
    sessions: list[CalendarSession],
    organizer_name: str,
    organizer_address: str,
    attendee_name: str,
    attendee_address: str,
    now: datetime,
    method: str = "REQUEST",
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Majlis//Conference registration//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    organizer = vCalAddress(f"mailto:{organizer_address}")
    organizer.params["cn"] = vText(organizer_name)
    for session in sessions:
        entry = VEvent()
        entry.add("uid", uid(registration_id, session.session_id))
        entry.add("sequence", sequence(now))
        entry.add("dtstamp", now.astimezone(UTC))
        entry.add("dtstart", session.starts_at.astimezone(UTC))
        entry.add("dtend", session.ends_at.astimezone(UTC))
        entry.add("summary", session.summary)
        entry.add("description", session.description)
        entry.add("location", "Zoom")
        entry.add("url", session.url)
        entry.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
        entry.add("transp", "OPAQUE")
        entry["organizer"] = organizer
        attendee = vCalAddress(f"mailto:{attendee_address}")
        attendee.params["cn"] = vText(attendee_name)
        attendee.params["partstat"] = vText("ACCEPTED")
        attendee.params["rsvp"] = vText("FALSE")
        entry.add("attendee", attendee)
        calendar.add_component(entry)
    return calendar.to_ical()
