"""What concerns the whole installation rather than one event: moving a dead-letter
queue's messages back once the cause is fixed, as an operator (an admin of every event)
asks in the console. The request is a record of the table; the outbox gives it to the
export worker, whose role may move dead letters (the public API's may only count them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.errors import FieldError, Invalid, NotPermitted
from chalicelib.domain.ids import new_id
from chalicelib.domain.organizers import Redrive
from chalicelib.jobs import Redrive as RedriveJob
from chalicelib.ports import Services

if TYPE_CHECKING:
    from chalicelib.usecases.console import SignedIn

MOST_PER_REQUEST = 500  # a request moves at most this many; press again for more


def ask_redrive(services: Services, signed: SignedIn, queue: str) -> Redrive:
    """An operator's request to move ``queue``'s messages back."""
    if not signed.organizer.operates:
        raise NotPermitted("Only an admin of every event moves dead letters back.")
    if queue not in services.dead_letters.counts():
        raise Invalid([FieldError("queue", "unknown_queue", "Not one of the dead-letter queues.")])
    redrive = Redrive(new_id(), queue, signed.who, services.clock())
    services.organizers.request_redrive(redrive)
    return redrive


def redrive(services: Services, job: RedriveJob) -> str:
    """Carry a request out: at most MOST_PER_REQUEST moved, the outcome kept on it."""
    request = next(
        (r for r in services.organizers.redrives(50) if r.redrive_id == job.redrive_id), None
    )
    if request is None:
        return "gone"  # older than the 50 latest, or expired
    if request.moved is not None:
        return "done already"
    try:
        moved = services.dead_letters.redrive(request.queue, MOST_PER_REQUEST)
    except ValueError as refused:
        services.organizers.redrive_done(request, 0, str(refused))
        return "refused"
    services.organizers.redrive_done(request, moved, None)
    return f"moved {moved}"
