"""Seating in a session's rooms (usecases/rooms.py), on the in-memory stores: the order
rooms fill in, seats given back, rooms the organisers remove, and a full Zoom room."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.events import Event
from chalicelib.domain.registrations import Registration
from chalicelib.domain.zoom import wanted, zoom_of
from chalicelib.ports import RoomCount, Services
from chalicelib.usecases import rooms
from chalicelib.usecases.registrations import register
from tests.builders import event_body, person
from tests.unit.support import EVENT_ID, configure

MAIN, SIDE = "81111111110", "81111111111"


def rooms_of(*capacities: int, watch: bool = True) -> list[dict[str, Any]]:
    ids = [MAIN, SIDE]
    listed: list[dict[str, Any]] = [
        {"zoom": {"type": "meeting", "id": ids[n]}, "capacity": cap}
        for n, cap in enumerate(capacities)
    ]
    return listed + ([{"watch_url": "https://stream.example.org/live"}] if watch else [])


def with_rooms(majlis: Services, listed: list[dict[str, Any]]) -> Event:
    sessions = event_body()["sessions"]
    first = sessions[0]
    first.pop("zoom"), first.pop("join_url")
    first["rooms"] = listed
    return configure(majlis, sessions=sessions, capacity=None)


def seat_new(majlis: Services, event: Event, n: int) -> Registration:
    outcome = register(majlis, EVENT_ID, person(n, sessions=["education"]), form=False)
    rooms.settle(majlis, event, outcome.registration_id, rooms.Seating())
    found = majlis.registrations.get(outcome.registration_id)
    assert found is not None
    return found


def seats(majlis: Services) -> dict[str, int]:
    counts = majlis.registrations.room_counts(EVENT_ID, "education")
    return {room: count.seated for room, count in counts.items() if count.seated}


def test_rooms_fill_in_order_and_the_stream_takes_the_rest(majlis):
    event = with_rooms(majlis, rooms_of(2, 1))
    placed = [seat_new(majlis, event, n).rooms["education"] for n in range(5)]
    assert placed == [f"meeting:{MAIN}"] * 2 + [f"meeting:{SIDE}", "watch", "watch"]
    assert seats(majlis) == {f"meeting:{MAIN}": 2, f"meeting:{SIDE}": 1, "watch": 2}


def test_a_watch_room_holds_no_zoom_registrant_and_a_zoom_room_its_meeting(majlis):
    event = with_rooms(majlis, rooms_of(1))
    first, second = seat_new(majlis, event, 1), seat_new(majlis, event, 2)
    session = event.session("education")
    assert zoom_of(first, session).key == f"meeting:{MAIN}"  # type: ignore[union-attr]
    assert zoom_of(second, session) is None
    assert wanted(first, event) == {"education"} and wanted(second, event) == set()


def test_settling_again_moves_nobody(majlis):
    event = with_rooms(majlis, rooms_of(2, 1))
    one = seat_new(majlis, event, 1)
    for _ in range(3):
        rooms.settle(majlis, event, one.registration_id, rooms.Seating())
    assert seats(majlis) == {f"meeting:{MAIN}": 1}


def test_a_cancellation_gives_the_seat_back_for_the_next_one(majlis):
    event = with_rooms(majlis, rooms_of(1, 1))
    first = seat_new(majlis, event, 1)
    seat_new(majlis, event, 2)
    majlis.registrations.cancel(first, majlis.clock())
    rooms.settle(majlis, event, first.registration_id, rooms.Seating())
    assert majlis.registrations.get(first.registration_id).rooms == {}
    assert seat_new(majlis, event, 3).rooms == {"education": f"meeting:{MAIN}"}


def test_with_every_room_full_and_no_stream_nobody_is_seated_and_it_is_counted(majlis):
    event = with_rooms(majlis, rooms_of(1, watch=False))
    seat_new(majlis, event, 1)
    outcome = register(majlis, EVENT_ID, person(2, sessions=["education"]), form=False)
    seating = rooms.Seating()
    rooms.settle(majlis, event, outcome.registration_id, seating)
    assert seating.unseated == 1
    assert majlis.registrations.get(outcome.registration_id).rooms == {}


def test_a_room_the_organisers_remove_gives_its_people_another(majlis):
    event = with_rooms(majlis, rooms_of(5, 5))
    one = seat_new(majlis, event, 1)
    assert one.rooms == {"education": f"meeting:{MAIN}"}
    event = with_rooms(majlis, rooms_of(5, 5)[1:])  # the main room is gone
    rooms.settle(majlis, event, one.registration_id, rooms.Seating())
    assert majlis.registrations.get(one.registration_id).rooms == {"education": f"meeting:{SIDE}"}
    assert seats(majlis) == {f"meeting:{SIDE}": 1}


def test_a_room_zoom_calls_full_closes_and_sends_the_person_to_the_next(majlis):
    event = with_rooms(majlis, rooms_of(5, 5))
    one, two = seat_new(majlis, event, 1), seat_new(majlis, event, 2)
    moved = rooms.move_on(majlis, event, two, "education", f"meeting:{MAIN}")
    assert moved == f"meeting:{SIDE}"
    assert majlis.registrations.get(two.registration_id).rooms == {"education": f"meeting:{SIDE}"}
    counts = majlis.registrations.room_counts(EVENT_ID, "education")
    assert counts[f"meeting:{MAIN}"] == RoomCount(seated=1, closed=True)
    # moved once: the same refusal again finds them no longer in the full room
    assert rooms.move_on(majlis, event, two, "education", f"meeting:{MAIN}") is None
    assert seat_new(majlis, event, 3).rooms == {"education": f"meeting:{SIDE}"}
    assert majlis.registrations.get(one.registration_id).rooms == {"education": f"meeting:{MAIN}"}


def test_the_organizer_view_and_occupancy_show_the_rooms(majlis):
    event = with_rooms(majlis, rooms_of(1))
    one = seat_new(majlis, event, 1)
    seat_new(majlis, event, 2)
    assert one.organizer_view()["room"] == {"education": f"meeting:{MAIN}"}
    shown = rooms.occupancy(majlis, event)["education"]
    assert [(r["room"], r["seated"], r["capacity"]) for r in shown] == [
        (f"meeting:{MAIN}", 1, 1),
        ("watch", 1, None),
    ]


def test_a_person_whose_room_was_removed_is_added_to_their_new_rooms_meeting(majlis):
    from chalicelib.usecases import zoomsync

    event = with_rooms(majlis, rooms_of(5, 5))
    one = seat_new(majlis, event, 1)
    zoomsync.sync(majlis, [one.registration_id])
    email = one.email.lower()
    assert email in majlis.zoom.registrants_by[("meeting", MAIN)]
    event = with_rooms(majlis, rooms_of(5, 5)[1:])  # the main room is gone
    rooms.settle(majlis, event, one.registration_id, rooms.Seating())
    outcome = zoomsync.sync(majlis, [one.registration_id])
    assert outcome.synced == 1 and not outcome.retry
    assert email in majlis.zoom.registrants_by[("meeting", SIDE)]
    now = majlis.registrations.get(one.registration_id)
    assert now.zoom["education"]["meeting"] == f"meeting:{SIDE}"
    # the removed room's meeting is the organisers' to close, as a replaced one is
    assert email in majlis.zoom.registrants_by[("meeting", MAIN)]


def test_an_erased_person_leaves_their_room_and_its_zoom_meeting(majlis):
    from chalicelib.ports import Audit
    from chalicelib.usecases import zoomsync

    event = with_rooms(majlis, rooms_of(5))
    one = seat_new(majlis, event, 1)
    zoomsync.sync(majlis, [one.registration_id])
    assert one.email.lower() in majlis.zoom.registrants_by[("meeting", MAIN)]
    current = majlis.registrations.get(one.registration_id)
    majlis.registrations.erase(current, Audit("erased", "token-id"), majlis.clock())
    rooms.settle(majlis, event, one.registration_id, rooms.Seating())
    assert majlis.registrations.get(one.registration_id).rooms == {}
    assert seats(majlis) == {}
    zoomsync.sync(majlis, [one.registration_id])
    assert majlis.zoom.registrants_by[("meeting", MAIN)] == {}
