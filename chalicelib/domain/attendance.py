"""Attendance of a session: who came, when they first and last joined.

A person attended a session when they clicked one of its join links (``clicks``, kept
by ``GET /join/{token}``) or Zoom reported them joining it (``participant_joined``:
``attended`` is their first join, ``attended_last`` their last). Either is enough: a
click is the only trace of someone who joined a room without Zoom (a watch URL), and
Zoom's join is the only trace of someone who used Zoom's own link. Follow-up
campaigns (``audience.attended``) and the attendance export read it from here; the
DynamoDB filter in ``adapters/dynamo/registrations.py`` mirrors ``attended``, and
``tests/integration/test_attendance_store.py`` proves the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.domain.registrations import Registration


def _moment(text: str | None) -> datetime | None:
    """Zoom's join time (RFC 3339); None when absent or unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def attended(registration: Registration, session_id: str) -> bool:
    """Whether the person clicked a join link of the session or Zoom saw them join it."""
    return session_id in registration.attended or bool(
        registration.clicks.get(session_id, {}).get("first")
    )


def missed(registration: Registration, session_id: str) -> bool:
    """Registered for the session (it is among their sessions) and never came."""
    return session_id in registration.sessions and not attended(registration, session_id)


@dataclass(frozen=True)
class Joins:
    """A person's first and last join of one session, clicks and Zoom's joins together."""

    first: datetime | None
    last: datetime | None

    @property
    def attended(self) -> bool:
        return self.first is not None


def joins(registration: Registration, session_id: str) -> Joins:
    clicked = registration.clicks.get(session_id, {})
    zoom_first = _moment(registration.attended.get(session_id))
    zoom_last = _moment(registration.attended_last.get(session_id)) or zoom_first
    firsts = [m for m in (clicked.get("first"), zoom_first) if m is not None]
    lasts = [m for m in (clicked.get("last"), clicked.get("first"), zoom_last) if m is not None]
    return Joins(min(firsts) if firsts else None, max(lasts) if lasts else None)
