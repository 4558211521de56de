"""Which Zoom registrants a registration should have: the rule the sync and the
reconciliation both keep.

A session's Zoom meeting is its one ``zoom``, or, for a session with rooms, the meeting
or webinar of the room the person is seated in (``Registration.rooms``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.events import Event, Room, Session, ZoomLink
from chalicelib.domain.registrations import Registration, Status


def on_zoom(url: str, allowed: str) -> bool:
    """Whether ``url`` is on one of ``allowed`` (comma-separated origins, e.g.
    ``https://zoom.us``): the same scheme and port, and the origin's host or one under
    it (``https://us02web.zoom.us/w/…``). What Zoom's answers and webhooks say a person's
    join URL is, is followed only then: a forged or mistaken one never redirects people
    elsewhere."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    for origin in filter(None, (o.strip() for o in allowed.split(","))):
        want = urlsplit(origin)
        want_host = (want.hostname or "").lower()
        want_port = want.port or (443 if want.scheme == "https" else 80)
        if (
            parts.scheme == want.scheme
            and port == want_port
            and want_host
            and (host == want_host or host.endswith("." + want_host))
        ):
            return True
    return False


def room_of(registration: Registration, session: Session | None) -> Room | None:
    """The room of the session the registration is seated in: for a session without
    rooms, its one meeting (if it has one) as a room of no cap."""
    if session is None:
        return None
    if session.rooms:
        return session.room(registration.rooms.get(session.id))
    if session.zoom is None:
        return None
    return Room.model_construct(zoom=session.zoom, join_url=session.join_url, label={})


def zoom_of(registration: Registration, session: Session | None) -> ZoomLink | None:
    """The Zoom meeting or webinar the registration belongs in for the session."""
    room = room_of(registration, session)
    return room.zoom if room is not None else None


def wanted(registration: Registration, event: Event) -> set[str]:
    """The sessions this registration should hold a Zoom registrant for: nobody is added
    to a cancelled session (and nobody taken out of one: its meeting is the organisers'
    to close in Zoom), nor to a session's watch room."""
    if registration.status is not Status.REGISTERED:
        return set()
    return {
        s
        for s in registration.sessions
        if (session := event.session(s))
        and not session.cancelled
        and zoom_of(registration, session) is not None
    }


def _current(
    record: dict[str, Any], registration: Registration, session: Session | None
) -> dict[str, Any]:
    # A record without ``meeting`` predates the field: it is of the session's meeting.
    link = zoom_of(registration, session)
    if session is None or link is None:
        return {}
    default = session.zoom.key if session.zoom is not None else None
    return record if record.get("meeting", default) == link.key else {}


def registrant_of(registration: Registration, session: Session | None) -> dict[str, Any]:
    """The registration's Zoom registrant (``registrant_id``, ``join_url``) in the
    meeting the registration belongs in for the session as it is now: empty when there
    is none, or when the one recorded is of another meeting (the organisers replaced it,
    or the person was seated in another room since)."""
    if session is None:
        return {}
    return _current(registration.zoom.get(session.id, {}), registration, session)


def sync_state_of(registration: Registration, session: Session | None) -> str | None:
    """Where adding the registration to its meeting for the session stands (a state
    recorded for another meeting does not count)."""
    if session is None:
        return None
    return _current(registration.zoom_sync.get(session.id, {}), registration, session).get("state")
