"""Which Zoom registrants a registration should have: the rule the sync and the
reconciliation both keep."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.events import Event, Session
from chalicelib.domain.registrations import Registration, Status


def wanted(registration: Registration, event: Event) -> set[str]:
    """The sessions this registration should hold a Zoom registrant for: nobody is added
    to a cancelled session (and nobody taken out of one: its meeting is the organisers'
    to close in Zoom)."""
    if registration.status is not Status.REGISTERED:
        return set()
    return {
        s
        for s in registration.sessions
        if (session := event.session(s)) and session.zoom and not session.cancelled
    }


def _current(record: dict[str, Any], session: Session | None) -> dict[str, Any]:
    # A record without ``meeting`` predates the field: it is of the session's meeting.
    if session is None or session.zoom is None:
        return {}
    return record if record.get("meeting", session.zoom.key) == session.zoom.key else {}


def registrant_of(registration: Registration, session: Session | None) -> dict[str, Any]:
    """The registration's Zoom registrant (``registrant_id``, ``join_url``) in the
    session's meeting as it is now: empty when there is none, or when the one recorded
    is of a meeting the organisers have since replaced."""
    if session is None:
        return {}
    return _current(registration.zoom.get(session.id, {}), session)


def sync_state_of(registration: Registration, session: Session | None) -> str | None:
    """Where adding the registration to the session's current meeting stands (a state
    recorded for an earlier meeting does not count)."""
    if session is None:
        return None
    return _current(registration.zoom_sync.get(session.id, {}), session).get("state")
