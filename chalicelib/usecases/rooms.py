"""Seating registrants in a session's rooms: filled in order, one seat at a time.

A session with ``rooms`` seats each registered person in the first room with a seat
left and open (Zoom has not said it is full); a watch room, last, has no cap. Seating
follows the table's stream, like every other side effect: a registration that is
registered for such a session and has no room (new, confirmed, promoted, a session
added) is seated; one that no longer needs its room (cancelled, erased, the session
dropped, the room removed from the session) gives it back. Each move is one
transaction with the rooms' counters, conditional on the registration as read and on
the seat being free, so a replayed change moves nobody twice and two people never get
one last seat. The mail and Zoom jobs of a change are queued after its seating, so
the confirmation names the room and the Zoom registrant is made in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.events import Event, Room, Session
from chalicelib.domain.kinds import ItemKind
from chalicelib.domain.registrations import Registration, Status
from chalicelib.ports import Change, RoomCount, RoomMove, RoomTaken, Services

ATTEMPTS = 10  # reads and tries per registration, when others take the seats meanwhile


def needs(registration: Registration | dict[str, Any], session: Session) -> bool:
    """Whether the person should hold a seat in one of the session's rooms."""
    status = registration.get("status") if isinstance(registration, dict) else registration.status
    sessions = (
        registration.get("sessions") or []
        if isinstance(registration, dict)
        else registration.sessions
    )
    return status == Status.REGISTERED and session.id in sessions


def _held(image: dict[str, Any], session_id: str) -> str | None:
    return (image.get("rooms") or {}).get(session_id)


def _unsettled(image: dict[str, Any], event: Event) -> bool:
    """Whether a registration (as a table change shows it) needs a seat it has not, or
    holds one it should not (a cheap look before the registration is read)."""
    for session in event.sessions:
        if not session.rooms or session.cancelled:
            continue
        held = _held(image, session.id)
        if needs(image, session) != (held is not None and session.room(held) is not None):
            return True
        if held is not None and session.room(held) is None:
            return True
    return any(
        event.session(s) is None or not event.session(s).rooms  # type: ignore[union-attr]
        for s in image.get("rooms") or {}
    )


@dataclass
class Seating:
    """What one call placed; the counters read, kept across the batch."""

    seated: int = 0
    freed: int = 0
    unseated: int = 0  # needed a seat, and every room was full
    counts: dict[tuple[str, str], dict[str, RoomCount]] = field(default_factory=dict)

    def of(self, services: Services, event_id: str, session_id: str) -> dict[str, RoomCount]:
        key = (event_id, session_id)
        if key not in self.counts:
            self.counts[key] = services.registrations.room_counts(event_id, session_id)
        return self.counts[key]

    def forget(self, event_id: str, session_id: str) -> None:
        self.counts.pop((event_id, session_id), None)

    def took(self, event_id: str, move: RoomMove) -> None:
        counts = self.counts.get((event_id, move.session_id))
        if counts is None:
            return
        for room, step in ((move.old, -1), (move.new, 1)):
            if room is not None:
                was = counts.get(room, RoomCount())
                counts[room] = RoomCount(was.seated + step, was.closed)


def _first_free(
    session: Session, counts: dict[str, RoomCount], after: str | None = None
) -> Room | None:
    rooms = session.rooms
    if after is not None:
        keys = [room.key for room in rooms]
        rooms = rooms[keys.index(after) + 1 :] if after in keys else rooms
    for room in rooms:
        count = counts.get(room.key, RoomCount())
        if count.closed:
            continue
        if room.capacity is None or count.seated < room.capacity:
            return room
    return None


def _moves(
    services: Services, event: Event, registration: Registration, seating: Seating
) -> list[RoomMove]:
    moves = []
    for session_id, held in registration.rooms.items():
        session = event.session(session_id)
        if session is None or not session.rooms:
            moves.append(RoomMove(session_id, held, None))  # the session or its rooms went
    for session in event.sessions:
        if not session.rooms or session.cancelled:
            continue
        held = registration.rooms.get(session.id)
        keeps = held is not None and session.room(held) is not None
        if needs(registration, session):
            if keeps:
                continue
            room = _first_free(session, seating.of(services, event.id, session.id))
            if room is None:
                if held is not None:
                    moves.append(RoomMove(session.id, held, None))
                seating.unseated += 1
                continue
            moves.append(RoomMove(session.id, held, room.key, room.capacity))
        elif held is not None:
            moves.append(RoomMove(session.id, held, None))
    return moves


def settle(services: Services, event: Event, registration_id: str, seating: Seating) -> None:
    """Seat the registration where it belongs, or free the seats it no longer needs."""
    for _ in range(ATTEMPTS):
        registration = services.registrations.get(registration_id, consistent=True)
        if registration is None or registration.event_id != event.id:
            return
        moves = _moves(services, event, registration, seating)
        if not moves:
            return
        try:
            if services.registrations.move_rooms(registration_id, event.id, moves):
                for move in moves:
                    seating.took(event.id, move)
                    seating.seated += move.new is not None
                    seating.freed += move.new is None
                return
        except RoomTaken as taken:
            seating.forget(event.id, taken.session_id)  # someone else took it: read again
            continue
        for move in moves:  # the registration changed meanwhile: read both again
            seating.forget(event.id, move.session_id)
    raise RoomsBusy(registration_id)


class RoomsBusy(Exception):
    """Others kept taking the seats chosen: the change comes again with its batch."""


def seat(services: Services, changes: list[Change]) -> Seating:
    """Settle the rooms of the registrations these table changes show, in order."""
    seating = Seating()
    for change in changes:
        new = change.new
        if change.event_name == "REMOVE" or new.get("kind") != ItemKind.REGISTRATION:
            continue
        event = services.events.get(str(new.get("event_id", "")))
        if event is None or not (any(s.rooms for s in event.sessions) or new.get("rooms")):
            continue
        if _unsettled(new, event):
            settle(services, event, new["registration_id"], seating)
    return seating


def move_on(
    services: Services, event: Event, registration: Registration, session_id: str, full: str
) -> str | None:
    """Zoom said the room ``full`` has no seat left, earlier than its capacity: close it
    to newcomers and seat the person in the next room with a seat. Returns the new
    room's key (None: no room after it has a seat, or the person is no longer in
    ``full``)."""
    session = event.session(session_id)
    if session is None or session.room(full) is None:
        return None
    services.registrations.close_room(event.id, session_id, full, services.clock())
    for _ in range(ATTEMPTS):
        counts = services.registrations.room_counts(event.id, session_id)
        room = _first_free(session, counts, after=full)
        if room is None:
            return None
        move = RoomMove(session_id, full, room.key, room.capacity)
        try:
            if not services.registrations.move_rooms(
                registration.registration_id, event.id, [move]
            ):
                return None  # moved, cancelled or dropped meanwhile
            return room.key
        except RoomTaken:
            continue
    raise RoomsBusy(registration.registration_id)


def occupancy(services: Services, event: Event) -> dict[str, list[dict[str, Any]]]:
    """Each session's rooms, in order, with their seats taken (the organisers' view)."""
    shown: dict[str, list[dict[str, Any]]] = {}
    for session in event.sessions:
        if not session.rooms:
            continue
        counts = services.registrations.room_counts(event.id, session.id)
        shown[session.id] = [
            {
                "room": room.key,
                "label": room.label,
                "capacity": room.capacity,
                "seated": counts.get(room.key, RoomCount()).seated,
                "full_in_zoom": counts.get(room.key, RoomCount()).closed,
            }
            for room in session.rooms
        ]
    return shown
