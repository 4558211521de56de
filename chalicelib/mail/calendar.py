"""The calendar file sent with each confirmation: one VEVENT per chosen session (iTIP).

Times are UTC. A VEVENT's UID is stable per registration and session, so a later email
updates the same calendar entry. SEQUENCE is the registration's ``mail_seq`` plus the
event's ``revision`` (:func:`sequence`): the first rises with every email the
registration is owed (an update, a cancellation), the second with every saved change of
the programme, so each change of an entry carries a higher SEQUENCE than the one
before, however close together they come, and the newest always wins. Sessions dropped
from a registration, cancelled or removed are sent with ``METHOD:CANCEL``.

Written directly (RFC 5545 escaping, RFC 6868 parameter values, lines folded at 75
octets) rather than through the icalendar library, which took 40% of the CPU of a
whole confirmation email; the tests read every file back with icalendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


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


def sequence(mail_seq: int, revision: int) -> int:
    """The SEQUENCE of a registration's entries at its ``mail_seq`` and the event's
    ``revision``: each rises, never falls, so every change gives a higher one."""
    return mail_seq + revision


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
    sequence: int,
    method: str = "REQUEST",
) -> bytes:
    stamp = _time(now)
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
            f"SEQUENCE:{sequence}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_time(session.starts_at)}",
            f"DTEND:{_time(session.ends_at)}",
            f"SUMMARY:{_text(session.summary)}",
        ]
        # No empty properties (a cancelled entry carries no links).
        if session.description:
            lines.append(f"DESCRIPTION:{_text(session.description)}")
        lines.append("LOCATION:Zoom")
        if session.url:
            lines.append(f"URL:{session.url}")
        lines += [
            f"STATUS:{status}",
            "TRANSP:OPAQUE",
            f"ORGANIZER;CN={_parameter(organizer_name)}:mailto:{organizer_address}",
            f"ATTENDEE;CN={_parameter(attendee_name)};PARTSTAT=ACCEPTED;RSVP=FALSE:"
            f"mailto:{attendee_address}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode("utf-8")
