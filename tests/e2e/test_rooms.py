"""Rooms end to end on local mode: a session's rooms filled in order, through the API,
the table's stream, the zoom queue and the Zoom stand-in over HTTP.

The session has a meeting of 3 seats, a meeting of 2, and a live stream page: 8 people
registering at once are seated 3, 2 and 3; each join link opens the person's own room;
a cancellation frees its seat for the next registrant; a meeting Zoom calls full
before its capacity sends the person on to the next room, once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from chalicelib.domain.registrations import Registration
from chalicelib.signed_links import registration_links
from tests.builders import person, put_open_event

WATCH_URL = "https://stream.example.org/live/opening"


def wait_for(check: Callable[[], Any], timeout: float, what: str, local: Any) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; pump errors: {local.errors[-3:]}")
        time.sleep(0.25)


def rooms_event(local: Any, event_id: str, first: str, second: str, **room_one: Any) -> None:
    """An event of one session with rooms: meeting ``first`` (3 seats), meeting
    ``second`` (2 seats), then the live stream."""
    put_open_event(
        local.url,
        local.organizer_token,
        event_id,
        capacity=None,
        sessions=[
            {
                "id": "opening",
                "title": {"ar": "الافتتاح", "en": "Opening"},
                "starts_at": "2027-03-01T12:00:00Z",
                "ends_at": "2027-03-01T14:00:00Z",
                "rooms": [
                    {
                        "zoom": {"type": "meeting", "id": first},
                        "capacity": 3,
                        "label": {"en": "Main hall", "ar": "القاعة الرئيسية"},
                        **room_one,
                    },
                    {
                        "zoom": {"type": "meeting", "id": second},
                        "capacity": 2,
                        "label": {"en": "Overflow", "ar": "القاعة الإضافية"},
                    },
                    {"watch_url": WATCH_URL, "label": {"en": "Live stream"}},
                ],
            }
        ],
    )


def register(local: Any, event_id: str, n: int) -> str:
    body = person(n, email=f"room{n}.{event_id}@example.org")
    response = requests.post(f"{local.url}/events/{event_id}/registrations", json=body, timeout=60)
    assert response.status_code == 201, response.text
    return response.json()["registration_id"]


def stored(local: Any, registration_id: str) -> Registration:
    found = local.majlis.registrations.get(registration_id, consistent=True)
    assert found is not None
    return found


def seated(local: Any, ids: list[str]) -> dict[str, str] | None:
    rooms = {rid: stored(local, rid).rooms.get("opening") for rid in ids}
    return rooms if all(rooms.values()) else None


def in_zoom(local: Any, meeting: str) -> set[str]:
    return {r["email"].lower() for r in local.zoom.registrants("meeting", meeting, "approved")}


def test_eight_people_at_once_fill_three_then_two_then_the_stream(local):
    first, second = "91000000001", "91000000002"
    rooms_event(local, "rooms-fill", first, second)
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda n: register(local, "rooms-fill", n), range(8)))

    rooms = wait_for(lambda: seated(local, ids), 30, "everyone seated", local)
    assert Counter(rooms.values()) == {f"meeting:{first}": 3, f"meeting:{second}": 2, "watch": 3}

    # each Zoom room holds exactly its people; the stream holds no registrants
    by_room: dict[str, set[str]] = {}
    for rid, room in rooms.items():
        by_room.setdefault(room, set()).add(stored(local, rid).email.lower())

    def zoom_matches() -> bool:
        return (
            in_zoom(local, first) == by_room[f"meeting:{first}"]
            and in_zoom(local, second) == by_room[f"meeting:{second}"]
        )

    wait_for(zoom_matches, 30, "the Zoom registrants of both meetings", local)

    # each join link opens the person's own room
    event = local.majlis.events.get("rooms-fill", fresh=True)

    def location(rid: str) -> str:
        registration = stored(local, rid)
        links = registration_links(local.majlis.keys.keys(), local.url, event, registration)
        answer = requests.get(links.join["opening"], allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text
        return answer.headers["Location"]

    def own_links_recorded() -> bool:
        return all(
            stored(local, rid).zoom.get("opening", {}).get("join_url")
            for rid, room in rooms.items()
            if room != "watch"
        )

    wait_for(own_links_recorded, 30, "the Zoom join URLs on the registrations", local)
    for rid, room in rooms.items():
        where = location(rid)
        if room == "watch":
            assert where == WATCH_URL
        else:
            own = stored(local, rid).zoom["opening"]
            assert own["meeting"] == room
            assert where == own["join_url"]
            zoom_id = room.split(":")[1]
            registrant = next(
                r
                for r in local.zoom.registrants("meeting", zoom_id, "approved")
                if r["id"] == own["registrant_id"]
            )
            assert where == registrant["join_url"]

    # stats and the Zoom status count per room
    headers = {"Authorization": f"Bearer {local.organizer_token}"}

    def stats_by_room() -> dict | None:
        answer = requests.get(f"{local.url}/events/rooms-fill/stats", headers=headers, timeout=10)
        found = answer.json()["by_room"].get("opening")
        expected = {f"meeting:{first}": 3, f"meeting:{second}": 2, "watch": 3}
        return found if found == expected else None

    wait_for(stats_by_room, 30, "stats per room", local)
    status = requests.get(f"{local.url}/events/rooms-fill/zoom", headers=headers, timeout=10)
    assert status.status_code == 200, status.text
    assert [(r["room"], r["seated"], r["capacity"]) for r in status.json()["rooms"]["opening"]] == [
        (f"meeting:{first}", 3, 3),
        (f"meeting:{second}", 2, 2),
        ("watch", 3, None),
    ]
    # the organizer view shows each person's room
    one = next(rid for rid, room in rooms.items() if room == f"meeting:{second}")
    answer = requests.get(
        f"{local.url}/events/rooms-fill/registrations/{one}", headers=headers, timeout=10
    )
    assert answer.json()["room"] == {"opening": f"meeting:{second}"}

    # a cancellation in room 1 frees its seat: the next registrant gets room 1
    leaving = next(rid for rid, room in rooms.items() if room == f"meeting:{first}")
    leaver = stored(local, leaving)
    links = registration_links(local.majlis.keys.keys(), local.url, event, leaver)
    cancelled = requests.post(links.manage, json={"action": "cancel"}, timeout=30)
    assert cancelled.status_code == 200, cancelled.text
    wait_for(lambda: not stored(local, leaving).rooms, 30, "the seat given back", local)
    wait_for(lambda: leaver.email.lower() not in in_zoom(local, first), 30, "out of Zoom", local)
    newcomer = register(local, "rooms-fill", 8)
    room = wait_for(lambda: stored(local, newcomer).rooms.get("opening"), 30, "seated", local)
    assert room == f"meeting:{first}"
    counts = local.majlis.registrations.room_counts("rooms-fill", "opening")
    assert {key: count.seated for key, count in counts.items()} == {
        f"meeting:{first}": 3,
        f"meeting:{second}": 2,
        "watch": 3,
    }


def test_a_room_zoom_calls_full_early_sends_the_person_on_once(local):
    first, second = "91000000011", "91000000012"
    local.zoom.add_session("meeting", first, capacity=1)  # Zoom's room holds 1, not 3
    rooms_event(local, "rooms-early", first, second)
    one = register(local, "rooms-early", 1)
    wait_for(lambda: in_zoom(local, first), 30, "the first person in Zoom", local)
    two = register(local, "rooms-early", 2)

    def moved() -> str | None:
        room = stored(local, two).rooms.get("opening")
        return room if room == f"meeting:{second}" else None

    wait_for(moved, 30, "the second person moved to the next room", local)
    wait_for(
        lambda: stored(local, two).email.lower() in in_zoom(local, second),
        30,
        "the second person in the next room's Zoom",
        local,
    )
    assert stored(local, one).rooms == {"opening": f"meeting:{first}"}
    # one refusal, one move: the full meeting was asked once for this person, and it is
    # closed to newcomers, who go straight to the next room
    assert local.zoom.add_attempts(first, stored(local, two).email) == 1
    three = register(local, "rooms-early", 3)
    room = wait_for(lambda: stored(local, three).rooms.get("opening"), 30, "seated", local)
    assert room == f"meeting:{second}"
    counts = local.majlis.registrations.room_counts("rooms-early", "opening")
    assert counts[f"meeting:{first}"].closed
    assert counts[f"meeting:{first}"].seated == 1
    assert counts[f"meeting:{second}"].seated == 2
    assert stored(local, two).zoom_sync["opening"]["state"] == "synced"
