"""The calendar file sent with each confirmation: one VEVENT per chosen session (iTIP).

Times are UTC. A VEVENT's UID is stable per registration and session, so a later email
updates the same calendar entry; SEQUENCE is the minutes since 2024 at sending time, so
it rises with every email and the newest always wins (a moved session, changed
sessions, a cancellation). Sessions dropped from a registration are sent with
``METHOD:CANCEL``.

Written directly (RFC 5545 escaping, RFC 6868 parameter values, lines folded at 75
octets) rather than through the icalendar library, which took 40% of the CPU of a
whole confirmation email; the tests read every file back with icalendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

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


def _text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _parameter(value: str) -> str:
    """A parameter value, quoted, with RFC 6868's caret escapes."""
    escaped = value.replace("^", "^^").replace('"', "^'").replace("\r\n", "^n").replace("\n", "^n")
    return f'"{escaped}"'


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """Lines of at most 75 octets, never splitting a UTF-8 character."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    pieces, start, limit = [], 0, 75
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # inside a character: back up to its first byte
            cut -= 1
        pieces.append(data[start:cut])
        start, limit = cut, 74  # continuation lines start with a space
    pieces.append(data[start:])
    return b"\r\n ".join(pieces).decode("utf-8")


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
    stamp, seq = _time(now), sequence(now)
    status = "CANCELLED" if method == "CANCEL" else "CONFIRMED"
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//Majlis//Conference registration//EN",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
    ]
    for session in sessions:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid(registration_id, session.session_id)}",
            f"SEQUENCE:{seq}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_time(session.starts_at)}",
            f"DTEND:{_time(session.ends_at)}",
            f"SUMMARY:{_text(session.summary)}",
            f"DESCRIPTION:{_text(session.description)}",
            "LOCATION:Zoom",
            f"URL:{session.url}",
            f"STATUS:{status}",
            "TRANSP:OPAQUE",
            f"ORGANIZER;CN={_parameter(organizer_name)}:mailto:{organizer_address}",
            f"ATTENDEE;CN={_parameter(attendee_name)};PARTSTAT=ACCEPTED;RSVP=FALSE:"
            f"mailto:{attendee_address}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode("utf-8")
