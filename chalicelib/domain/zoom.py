"""Which Zoom registrants a registration should have: the rule the sync and the
reconciliation both keep."""

from __future__ import annotations

from chalicelib.domain.events import Event
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
