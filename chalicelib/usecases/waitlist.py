"""The waiting list: freed seats go to the people waiting, first come, first served.

Driven from the table's stream: whenever an event's seat counter or settings change
while people wait, seats are handed out one at a time, each in one transaction that
moves the seat and the person together, so two people never get one seat. A promoted
person is owed an email (their confirmation, with join links).
"""

from __future__ import annotations

from chalicelib import metrics
from chalicelib.domain.kinds import ItemKind
from chalicelib.ports import Change, Services

MAX_PROMOTIONS_PER_CALL = 500


def events_to_fill(changes: list[Change]) -> set[str]:
    """Events whose seats may have just been freed (or added) while people wait."""
    found = set()
    for change in changes:
        new = change.new
        people_wait = new.get("kind") == ItemKind.SEATS and int(new.get("waitlisted", 0)) > 0
        settings_changed = new.get("kind") == ItemKind.EVENT and change.event_name == "MODIFY"
        if people_wait or settings_changed:  # a seat freed, or the capacity raised
            found.add(new["event_id"])
    return found


def promote(services: Services, event_id: str) -> int:
    """Fill the event's free seats from its waiting list; returns how many were promoted."""
    event = services.events.get(event_id, fresh=True)  # the capacity as it is now
    if event is None:
        return 0
    promoted = 0
    while promoted < MAX_PROMOTIONS_PER_CALL:
        if services.registrations.promote_next(event_id, event.capacity, services.clock()) is None:
            break
        promoted += 1
    metrics.count("Promoted", promoted)
    return promoted
